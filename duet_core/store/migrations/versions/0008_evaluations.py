"""Evaluation: judges' scores (``evaluations``), people's per-turn scores (``turn_ratings``) and
blind pairwise votes between runs (``votes``), each row removed with its run.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _run_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    """Named as the schema's naming convention names it."""
    return sa.ForeignKeyConstraint(
        [column], ["runs.id"], ondelete="CASCADE", name=f"fk_{table}_{column}_runs"
    )


def upgrade() -> None:
    op.create_table(
        "evaluations",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("judge", sa.String(200), nullable=False),
        sa.Column("criterion", sa.String(100), nullable=True),
        sa.Column("per", sa.String(10), nullable=False),
        sa.Column("turn", sa.Integer(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("provider", sa.String(40), nullable=True),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("request", sa.JSON(), nullable=True),
        sa.Column("cost_usd", sa.Float(), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=True),
        sa.Column("output_tokens", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        _run_fk("evaluations", "run_id"),
    )
    op.create_index("ix_evaluations_run_id", "evaluations", ["run_id", "turn"])
    op.create_table(
        "turn_ratings",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("turn", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("rater", sa.String(200), primary_key=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _run_fk("turn_ratings", "run_id"),
    )
    op.create_table(
        "votes",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("run_a", sa.String(64), nullable=False),
        sa.Column("run_b", sa.String(64), nullable=False),
        sa.Column("bot_index", sa.Integer(), nullable=False),
        sa.Column("winner", sa.String(4), nullable=False),
        sa.Column("model_a", sa.String(200), nullable=False),
        sa.Column("model_b", sa.String(200), nullable=False),
        sa.Column("persona_a", sa.String(300), nullable=False),
        sa.Column("persona_b", sa.String(300), nullable=False),
        sa.Column("voter", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _run_fk("votes", "run_a"),
        _run_fk("votes", "run_b"),
    )
    op.create_index("ix_votes_run_a", "votes", ["run_a"])
    op.create_index("ix_votes_run_b", "votes", ["run_b"])


def downgrade() -> None:
    op.drop_index("ix_votes_run_b", table_name="votes")
    op.drop_index("ix_votes_run_a", table_name="votes")
    op.drop_table("votes")
    op.drop_table("turn_ratings")
    op.drop_index("ix_evaluations_run_id", table_name="evaluations")
    op.drop_table("evaluations")
