"""Leases on live runs, so several processes can share one database.

A live run (running, paused) belongs to the process named in ``lease_owner`` until
``lease_expires_at``; the owner renews the lease while the run lives. A live run whose lease
has expired was left by a process that died: it reads as ``interrupted`` and another process
may take it over (one conditional UPDATE, see ``Store.take_over``). A live row with no lease
(saved before this migration, or by ``Store.create_run`` without one) reads as it was saved, and
start-up recovery treats it as left by a dead process, as before leases.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("lease_owner", sa.String(100), nullable=True))
    op.add_column("runs", sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+), not a batch copy of the table: rebuilding ``runs``
    # fails against 0003's search triggers, and would renumber the rowids its index is keyed on.
    op.drop_column("runs", "lease_expires_at")
    op.drop_column("runs", "lease_owner")
