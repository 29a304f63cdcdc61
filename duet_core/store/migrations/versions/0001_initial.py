"""Runs and their turns.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("stop_reason", sa.String(100), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("finished_at", UTC_DATETIME, nullable=True),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("max_turns", sa.Integer, nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("bot0_name", sa.String(100), nullable=False),
        sa.Column("bot0_provider", sa.String(40), nullable=False),
        sa.Column("bot0_model", sa.String(200), nullable=False),
        sa.Column("bot1_name", sa.String(100), nullable=False),
        sa.Column("bot1_provider", sa.String(40), nullable=False),
        sa.Column("bot1_model", sa.String(200), nullable=False),
        sa.Column("turn_count", sa.Integer, nullable=False),
        sa.Column("input_tokens", sa.Integer, nullable=False),
        sa.Column("output_tokens", sa.Integer, nullable=False),
        sa.Column("cost_usd", sa.Float, nullable=False),
        sa.Column("unpriced_turns", sa.Integer, nullable=False),
    )
    op.create_index("ix_runs_created_at", "runs", ["created_at", "id"])
    op.create_index("ix_runs_owner_created_at", "runs", ["owner", "created_at"])
    op.create_index("ix_runs_status_created_at", "runs", ["status", "created_at"])
    op.create_index("ix_runs_bot0_provider", "runs", ["bot0_provider"])
    op.create_index("ix_runs_bot1_provider", "runs", ["bot1_provider"])
    op.create_index("ix_runs_bot0_model", "runs", ["bot0_model"])
    op.create_index("ix_runs_bot1_model", "runs", ["bot1_model"])

    op.create_table(
        "turns",
        sa.Column(
            "run_id",
            sa.String(64),
            sa.ForeignKey("runs.id", ondelete="CASCADE", name="fk_turns_run_id_runs"),
            primary_key=True,
        ),
        sa.Column("index", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("bot_index", sa.Integer, nullable=True),
        sa.Column("bot_name", sa.String(100), nullable=False),
        sa.Column("provider", sa.String(40), nullable=True),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("thinking", sa.Text, nullable=False),
        sa.Column("config", sa.JSON, nullable=True),
        sa.Column("started_at", UTC_DATETIME, nullable=False),
        sa.Column("finished_at", UTC_DATETIME, nullable=True),
        sa.Column("ttft_ms", sa.Float, nullable=True),
        sa.Column("latency_ms", sa.Float, nullable=True),
        sa.Column("input_tokens", sa.Integer, nullable=True),
        sa.Column("output_tokens", sa.Integer, nullable=True),
        sa.Column("cost_usd", sa.Float, nullable=True),
        sa.Column("finish_reason", sa.String(100), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("turns")
    op.drop_table("runs")
