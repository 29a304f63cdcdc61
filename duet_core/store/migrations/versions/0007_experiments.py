"""Experiments (batches): an ``experiments`` table, and runs tagged with their experiment, their
place in its grid and their cell. An experiment's runs wait in ``runs`` with status ``queued``
until a worker claims them (duet_core/store/experiments.py).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("concurrency", sa.Integer(), nullable=False),
        sa.Column("budget_usd", sa.Float(), nullable=True),
        sa.Column("run_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_experiments_status", "experiments", ["status"])
    op.create_index("ix_experiments_owner_created_at", "experiments", ["owner", "created_at"])
    # plain ADD COLUMNs, no batch copy of runs (see 0004: the search triggers and rowids)
    op.add_column("runs", sa.Column("experiment_id", sa.String(16), nullable=True))
    op.add_column("runs", sa.Column("experiment_index", sa.Integer(), nullable=True))
    op.add_column("runs", sa.Column("experiment_cell", sa.JSON(), nullable=True))
    op.create_index("ix_runs_experiment", "runs", ["experiment_id", "status", "experiment_index"])


def downgrade() -> None:
    op.drop_index("ix_runs_experiment", table_name="runs")
    op.drop_column("runs", "experiment_cell")
    op.drop_column("runs", "experiment_index")
    op.drop_column("runs", "experiment_id")
    op.drop_index("ix_experiments_owner_created_at", table_name="experiments")
    op.drop_index("ix_experiments_status", table_name="experiments")
    op.drop_table("experiments")
