"""Full-text search over turns (SQLite FTS5, PostgreSQL tsvector).

SQLite: FTS5 tables over ``runs.topic`` (external content) and ``turns.content`` (contentless,
its rowids naming the run), case folded, diacritics removed, kept in step by triggers, filled
from the rows already saved.
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
# A turn's entry in turns_fts has rowid = its run's rowid * TURN_SLOTS + its index, so a match
# names its run without reading the turns table (turn indexes stay below DUET_MAX_TURNS).
TURN_SLOTS = 1 << 20

SQLITE = [
    # turn contents: a contentless table (the text stays in turns), rowids as above
    f"CREATE VIRTUAL TABLE turns_fts USING fts5(content, content='', tokenize='{TOKENIZE}')",
    # topics: an external-content table over runs
    f"CREATE VIRTUAL TABLE runs_fts USING fts5(topic, content='runs', content_rowid='rowid',"
    f" tokenize='{TOKENIZE}')",
    "CREATE TRIGGER runs_fts_insert AFTER INSERT ON runs BEGIN"
    " INSERT INTO runs_fts(rowid, topic) VALUES (new.rowid, new.topic); END",
    "CREATE TRIGGER runs_fts_update AFTER UPDATE OF topic ON runs BEGIN"
    " INSERT INTO runs_fts(runs_fts, rowid, topic) VALUES ('delete', old.rowid, old.topic);"
    " INSERT INTO runs_fts(rowid, topic) VALUES (new.rowid, new.topic); END",
    # a run going: its topic and its turns leave the index (its turns' own triggers cannot
    # do it: during the cascade the run's row is already gone)
    "CREATE TRIGGER runs_fts_delete BEFORE DELETE ON runs BEGIN"
    " INSERT INTO runs_fts(runs_fts, rowid, topic) VALUES ('delete', old.rowid, old.topic);"
    " INSERT INTO turns_fts(turns_fts, rowid, content)"
    f" SELECT 'delete', old.rowid * {TURN_SLOTS} + t.\"index\", t.content FROM turns AS t"
    " WHERE t.run_id = old.id; END",
    "CREATE TRIGGER turns_fts_insert AFTER INSERT ON turns BEGIN"
    f' INSERT INTO turns_fts(rowid, content) SELECT r.rowid * {TURN_SLOTS} + new."index",'
    " new.content FROM runs AS r WHERE r.id = new.run_id; END",
    "CREATE TRIGGER turns_fts_delete AFTER DELETE ON turns BEGIN"
    " INSERT INTO turns_fts(turns_fts, rowid, content)"
    f" SELECT 'delete', r.rowid * {TURN_SLOTS} + old.\"index\", old.content FROM runs AS r"
    " WHERE r.id = old.run_id; END",
    "CREATE TRIGGER turns_fts_update AFTER UPDATE OF content ON turns BEGIN"
    " INSERT INTO turns_fts(turns_fts, rowid, content)"
    f" SELECT 'delete', r.rowid * {TURN_SLOTS} + old.\"index\", old.content FROM runs AS r"
    " WHERE r.id = old.run_id;"
    f' INSERT INTO turns_fts(rowid, content) SELECT r.rowid * {TURN_SLOTS} + new."index",'
    " new.content FROM runs AS r WHERE r.id = new.run_id; END",
    # index the rows already there
    "INSERT INTO runs_fts(runs_fts) VALUES ('rebuild')",
    f'INSERT INTO turns_fts(rowid, content) SELECT r.rowid * {TURN_SLOTS} + t."index",'
    " t.content FROM turns AS t JOIN runs AS r ON r.id = t.run_id",
]


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE:
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
    op.execute("SET LOCAL maintenance_work_mem = '256MB'")  # builds the GIN indexes faster
    op.execute("CREATE INDEX ix_runs_topic_search ON runs USING gin (to_tsvector('duet', topic))")
    op.execute(
        "CREATE INDEX ix_turns_content_search ON turns USING gin (to_tsvector('duet', content))"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in ("runs", "turns"):
            for suffix in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_fts_{suffix}")
        for table in ("runs", "turns"):
            op.execute(f"DROP TABLE IF EXISTS {table}_fts")
        return
    op.execute("DROP INDEX IF EXISTS ix_turns_content_search")
    op.execute("DROP INDEX IF EXISTS ix_runs_topic_search")
    op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS duet")
