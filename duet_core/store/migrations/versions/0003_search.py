"""Full-text search over turns (SQLite FTS5, PostgreSQL tsvector).

SQLite: FTS5 external-content tables over ``runs.topic`` and ``turns.content`` (case folded,
diacritics removed), kept in step by triggers, filled from the rows already saved.
PostgreSQL: a text search configuration ``duet`` (``simple``, plus ``unaccent`` when the
extension can be created) and GIN indexes on ``to_tsvector('duet', ...)``, built over the rows
already saved. ``duet_core/store/search.py`` queries them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TOKENIZE = "unicode61 remove_diacritics 2"


def _sqlite_fts(table: str, column: str) -> list[str]:
    fts = f"{table}_fts"
    delete = (
        f"INSERT INTO {fts}({fts}, rowid, {column}) VALUES ('delete', old.rowid, old.{column});"
    )
    insert = f"INSERT INTO {fts}(rowid, {column}) VALUES (new.rowid, new.{column});"
    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5({column}, content='{table}',"
        f" content_rowid='rowid', tokenize='{TOKENIZE}')",
        f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN {insert} END",
        f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {delete} END",
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {column} ON {table}"
        f" BEGIN {delete} {insert} END",
        f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",  # index the rows already there
    ]


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in _sqlite_fts("runs", "topic") + _sqlite_fts("turns", "content"):
            op.execute(statement)
        return
    has_unaccent = bind.execute(
        sa.text("SELECT count(*) FROM pg_available_extensions WHERE name = 'unaccent'")
    ).scalar_one()
    if has_unaccent:
        op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.execute("CREATE TEXT SEARCH CONFIGURATION duet (COPY = simple)")
    if has_unaccent:
        op.execute(
            "ALTER TEXT SEARCH CONFIGURATION duet"
            " ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple"
        )
    op.execute("CREATE INDEX ix_runs_topic_search ON runs USING gin (to_tsvector('duet', topic))")
    op.execute(
        "CREATE INDEX ix_turns_content_search ON turns USING gin (to_tsvector('duet', content))"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in ("runs", "turns"):
            for suffix in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_fts_{suffix}")
            op.execute(f"DROP TABLE IF EXISTS {table}_fts")
        return
    op.execute("DROP INDEX IF EXISTS ix_turns_content_search")
    op.execute("DROP INDEX IF EXISTS ix_runs_topic_search")
    op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS duet")
