"""Run continues (``run_continues``): one row each time a person continues a run, so the
runs-per-minute limit counts continues in the database, as it counts created runs, across
processes (it was counted per process). Each row goes with its run.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_continues",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("username", sa.String(200), nullable=False),
        sa.Column("continued_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], ondelete="CASCADE", name="fk_run_continues_run_id_runs"
        ),
    )
    op.create_index(
        "ix_run_continues_username_continued_at", "run_continues", ["username", "continued_at"]
    )
    op.create_index("ix_run_continues_run_id", "run_continues", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_run_continues_run_id", table_name="run_continues")
    op.drop_index("ix_run_continues_username_continued_at", table_name="run_continues")
    op.drop_table("run_continues")
