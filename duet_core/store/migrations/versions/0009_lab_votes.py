"""Votes between two Prompt Lab variants: a vote's two runs may be empty (the variants are
not saved runs) and ``lab`` keeps what was compared (the source, the turn, each side's text
and settings). Votes between runs are unchanged.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a batch copy on SQLite (it cannot drop NOT NULL in place); ALTER COLUMN elsewhere
    with op.batch_alter_table("votes") as batch:
        batch.alter_column("run_a", existing_type=sa.String(64), nullable=True)
        batch.alter_column("run_b", existing_type=sa.String(64), nullable=True)
        batch.add_column(sa.Column("lab", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.execute("DELETE FROM votes WHERE run_a IS NULL OR run_b IS NULL")
    with op.batch_alter_table("votes") as batch:
        batch.drop_column("lab")
        batch.alter_column("run_b", existing_type=sa.String(64), nullable=False)
        batch.alter_column("run_a", existing_type=sa.String(64), nullable=False)
