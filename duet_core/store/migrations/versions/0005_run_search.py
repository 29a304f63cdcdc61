"""Search by run: one document of words per run, on a key that survives VACUUM.

Replaces 0003's objects (kept: PostgreSQL's text search configuration ``duet``):

SQLite: ``run_search`` gives each run a stable integer ``key`` (``INTEGER PRIMARY KEY``, so
VACUUM, a dump and restore or a table rebuild keep it; 0003 used the runs table's implicit
rowid, which they may renumber). One contentless FTS5 table ``run_search_fts`` holds a run's
topic and its turns, each entry's rowid ``key << 32 | slot`` (slot 0 the topic, slot i + 1
turn i), so a match names its run without reading the turns. Kept in step by triggers.

PostgreSQL: ``run_search`` holds each run's words as one stripped ``tsvector`` (no positions),
GIN-indexed, so a search reads one row per run instead of every matching turn. A run whose
words outgrow one tsvector (1 MB) goes on in a second row (``part``). Kept in step by
triggers: a new turn adds its words; a deleted or changed turn, or a new topic, rebuilds that
run's rows.

Both are filled from the rows already saved. ``duet_core/store/search.py`` queries them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TOKENIZE = "unicode61 remove_diacritics 2"  # as 0003: case folded, accents removed
SLOT_BITS = 32  # run_search_fts rowid = key << 32 | slot; as search.SLOT_BITS

_ENTRY_NEW = f'(k.key << {SLOT_BITS}) + new."index" + 1'
_ENTRY_OLD = f'(k.key << {SLOT_BITS}) + old."index" + 1'

SQLITE = [
    "DROP TRIGGER IF EXISTS runs_fts_insert",
    "DROP TRIGGER IF EXISTS runs_fts_update",
    "DROP TRIGGER IF EXISTS runs_fts_delete",
    "DROP TRIGGER IF EXISTS turns_fts_insert",
    "DROP TRIGGER IF EXISTS turns_fts_delete",
    "DROP TRIGGER IF EXISTS turns_fts_update",
    "DROP TABLE IF EXISTS runs_fts",
    "DROP TABLE IF EXISTS turns_fts",
    # AUTOINCREMENT: a key is never given twice, even after the newest run is deleted
    "CREATE TABLE run_search (key INTEGER PRIMARY KEY AUTOINCREMENT,"
    " run_id VARCHAR(64) NOT NULL UNIQUE REFERENCES runs (id) ON DELETE CASCADE)",
    f"CREATE VIRTUAL TABLE run_search_fts USING fts5(body, content='', tokenize='{TOKENIZE}')",
    "CREATE TRIGGER run_search_run_insert AFTER INSERT ON runs BEGIN"
    " INSERT INTO run_search (run_id) VALUES (new.id);"
    f" INSERT INTO run_search_fts (rowid, body) SELECT k.key << {SLOT_BITS}, new.topic"
    " FROM run_search AS k WHERE k.run_id = new.id; END",
    "CREATE TRIGGER run_search_run_update AFTER UPDATE OF topic ON runs BEGIN"
    " INSERT INTO run_search_fts (run_search_fts, rowid, body)"
    f" SELECT 'delete', k.key << {SLOT_BITS}, old.topic FROM run_search AS k"
    " WHERE k.run_id = old.id;"
    f" INSERT INTO run_search_fts (rowid, body) SELECT k.key << {SLOT_BITS}, new.topic"
    " FROM run_search AS k WHERE k.run_id = new.id; END",
    # a run going: its topic and turns leave the index, then its key (so the cascade's turn
    # triggers find no key and do nothing: a contentless table must not delete twice)
    "CREATE TRIGGER run_search_run_delete BEFORE DELETE ON runs BEGIN"
    " INSERT INTO run_search_fts (run_search_fts, rowid, body)"
    f" SELECT 'delete', k.key << {SLOT_BITS}, old.topic FROM run_search AS k"
    " WHERE k.run_id = old.id;"
    " INSERT INTO run_search_fts (run_search_fts, rowid, body)"
    f" SELECT 'delete', (k.key << {SLOT_BITS}) + t.\"index\" + 1, t.content"
    " FROM run_search AS k JOIN turns AS t ON t.run_id = k.run_id WHERE k.run_id = old.id;"
    " DELETE FROM run_search WHERE run_id = old.id; END",
    "CREATE TRIGGER run_search_turn_insert AFTER INSERT ON turns BEGIN"
    f" INSERT INTO run_search_fts (rowid, body) SELECT {_ENTRY_NEW}, new.content"
    " FROM run_search AS k WHERE k.run_id = new.run_id; END",
    "CREATE TRIGGER run_search_turn_delete AFTER DELETE ON turns BEGIN"
    " INSERT INTO run_search_fts (run_search_fts, rowid, body)"
    f" SELECT 'delete', {_ENTRY_OLD}, old.content FROM run_search AS k"
    " WHERE k.run_id = old.run_id; END",
    'CREATE TRIGGER run_search_turn_update AFTER UPDATE OF content, "index", run_id ON turns'
    " BEGIN"
    " INSERT INTO run_search_fts (run_search_fts, rowid, body)"
    f" SELECT 'delete', {_ENTRY_OLD}, old.content FROM run_search AS k"
    " WHERE k.run_id = old.run_id;"
    f" INSERT INTO run_search_fts (rowid, body) SELECT {_ENTRY_NEW}, new.content"
    " FROM run_search AS k WHERE k.run_id = new.run_id; END",
    # the rows already there: keys in the order the runs were made
    "INSERT INTO run_search (run_id) SELECT id FROM runs ORDER BY created_at, id",
    f"INSERT INTO run_search_fts (rowid, body) SELECT k.key << {SLOT_BITS}, r.topic"
    " FROM run_search AS k JOIN runs AS r ON r.id = k.run_id",
    f'INSERT INTO run_search_fts (rowid, body) SELECT (k.key << {SLOT_BITS}) + t."index" + 1,'
    " t.content FROM run_search AS k JOIN turns AS t ON t.run_id = k.run_id",
]

# PostgreSQL. Words are stripped tsvectors (no positions: a search asks which runs hold
# every word, never where), so a run's document is its distinct words, whatever its length.
POSTGRESQL = [
    "DROP INDEX IF EXISTS ix_turns_content_search",
    "DROP INDEX IF EXISTS ix_runs_topic_search",
    # No btree on run_id: the planner, blind to the cost of reading a document (kept out of
    # line), would scan one in full testing every document; a hash index has no order to
    # scan, so a search goes through the GIN index (see search.prepare).
    "CREATE TABLE run_search ("
    " run_id VARCHAR(64) NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
    " part INTEGER NOT NULL DEFAULT 0,"
    " doc TSVECTOR NOT NULL DEFAULT '')",
    "CREATE INDEX ix_run_search_run ON run_search USING hash (run_id)",
    # a text's words: one tsvector, or (over tsvector's 1 MB) one per 50,000 characters
    """CREATE FUNCTION duet_search_vectors(body TEXT) RETURNS SETOF TSVECTOR
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN NEXT strip(to_tsvector('duet', body));
EXCEPTION WHEN program_limit_exceeded THEN
    RETURN QUERY SELECT strip(to_tsvector('duet', substr(body, i, 50000)))
        FROM generate_series(1, length(body), 50000) AS i;
END $$""",
    # add a text's words to the run's last row, or to a new row when that one is full
    """CREATE FUNCTION duet_search_add(rid VARCHAR, body TEXT) RETURNS VOID
    LANGUAGE plpgsql AS $$
DECLARE
    vec TSVECTOR;
    last_part INTEGER;
BEGIN
    FOR vec IN SELECT duet_search_vectors(body) LOOP
        CONTINUE WHEN length(vec) = 0;
        SELECT max(part) INTO last_part FROM run_search WHERE run_id = rid;
        IF last_part IS NULL THEN
            RETURN;  -- no such run (being deleted)
        END IF;
        BEGIN
            UPDATE run_search SET doc = doc || vec WHERE run_id = rid AND part = last_part;
        EXCEPTION WHEN program_limit_exceeded THEN
            INSERT INTO run_search (run_id, part, doc) VALUES (rid, last_part + 1, vec);
        END;
    END LOOP;
END $$""",
    # a run's rows from scratch: its topic and turns at once, or (too many words for one
    # tsvector) text by text
    """CREATE FUNCTION duet_search_rebuild(rid VARCHAR) RETURNS VOID
    LANGUAGE plpgsql AS $$
DECLARE
    body TEXT;
BEGIN
    DELETE FROM run_search WHERE run_id = rid;
    SELECT topic INTO body FROM runs WHERE id = rid;
    IF NOT FOUND THEN
        RETURN;  -- a run being deleted
    END IF;
    BEGIN
        INSERT INTO run_search (run_id, part, doc)
        SELECT rid, 0, strip(to_tsvector('duet', body))
            || coalesce(strip(to_tsvector('duet', string_agg(t.content, E'\\n'))), '')
        FROM turns AS t WHERE t.run_id = rid;
    EXCEPTION WHEN program_limit_exceeded THEN
        INSERT INTO run_search (run_id, part, doc) VALUES (rid, 0, '');
        PERFORM duet_search_add(rid, body);
        FOR body IN SELECT content FROM turns WHERE run_id = rid ORDER BY "index" LOOP
            PERFORM duet_search_add(rid, body);
        END LOOP;
    END;
END $$""",
    """CREATE FUNCTION duet_search_run_changed() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM duet_search_rebuild(NEW.id);
    RETURN NULL;
END $$""",
    """CREATE FUNCTION duet_search_turn_added() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM duet_search_add(NEW.run_id, NEW.content);
    RETURN NULL;
END $$""",
    """CREATE FUNCTION duet_search_turns_deleted() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM duet_search_rebuild(g.run_id) FROM (SELECT DISTINCT run_id FROM gone) AS g;
    RETURN NULL;
END $$""",
    # only runs whose turn texts changed (an update of a turn's other columns costs nothing)
    """CREATE FUNCTION duet_search_turns_updated() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM duet_search_rebuild(c.run_id) FROM (
        SELECT o.run_id FROM was AS o LEFT JOIN now AS n
            ON n.run_id = o.run_id AND n."index" = o."index"
            WHERE n.content IS DISTINCT FROM o.content
        UNION
        SELECT n.run_id FROM now AS n LEFT JOIN was AS o
            ON o.run_id = n.run_id AND o."index" = n."index"
            WHERE o.content IS DISTINCT FROM n.content
    ) AS c;
    RETURN NULL;
END $$""",
    "CREATE TRIGGER run_search_run_insert AFTER INSERT ON runs"
    " FOR EACH ROW EXECUTE FUNCTION duet_search_run_changed()",
    "CREATE TRIGGER run_search_run_update AFTER UPDATE OF topic ON runs"
    " FOR EACH ROW WHEN (old.topic IS DISTINCT FROM new.topic)"
    " EXECUTE FUNCTION duet_search_run_changed()",
    "CREATE TRIGGER run_search_turn_insert AFTER INSERT ON turns"
    " FOR EACH ROW EXECUTE FUNCTION duet_search_turn_added()",
    "CREATE TRIGGER run_search_turn_delete AFTER DELETE ON turns"
    " REFERENCING OLD TABLE AS gone FOR EACH STATEMENT"
    " EXECUTE FUNCTION duet_search_turns_deleted()",
    "CREATE TRIGGER run_search_turn_update AFTER UPDATE ON turns"
    " REFERENCING OLD TABLE AS was NEW TABLE AS now FOR EACH STATEMENT"
    " EXECUTE FUNCTION duet_search_turns_updated()",
    # the rows already there: all at once; run by run if one outgrows a tsvector
    "SET LOCAL maintenance_work_mem = '256MB'",
    """DO $$
BEGIN
    INSERT INTO run_search (run_id, part, doc)
    SELECT r.id, 0, strip(to_tsvector('duet', r.topic)) || coalesce(t.doc, '')
    FROM runs AS r LEFT JOIN (
        SELECT run_id, strip(to_tsvector('duet', string_agg(content, E'\\n'))) AS doc
        FROM turns GROUP BY run_id
    ) AS t ON t.run_id = r.id;
EXCEPTION WHEN program_limit_exceeded THEN
    PERFORM duet_search_rebuild(id) FROM runs;
END $$""",
    # every new turn rewrites its run's document, so every one of the run's words enters the
    # GIN pending list: keep that list short (each search reads all of it)
    "CREATE INDEX ix_run_search_doc ON run_search USING gin (doc)"
    " WITH (gin_pending_list_limit = 256)",
    "CREATE INDEX ix_run_search_more ON run_search (run_id) WHERE part > 0",  # the few big runs
    "ANALYZE run_search",
]

PG_FUNCTIONS = [
    "duet_search_turns_updated()",
    "duet_search_turns_deleted()",
    "duet_search_turn_added()",
    "duet_search_run_changed()",
    "duet_search_rebuild(VARCHAR)",
    "duet_search_add(VARCHAR, TEXT)",
    "duet_search_vectors(TEXT)",
]


def upgrade() -> None:
    bind = op.get_bind()
    statements = SQLITE if bind.dialect.name == "sqlite" else POSTGRESQL
    for statement in statements:
        bind.exec_driver_sql(statement)


def downgrade() -> None:
    """Back to 0003's objects, indexed again from the rows."""
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    for table in ("runs", "turns"):
        for event in ("insert", "update", "delete"):
            name = f"run_search_{table[:-1]}_{event}"
            bind.exec_driver_sql(
                f"DROP TRIGGER IF EXISTS {name}" + ("" if sqlite else f" ON {table}")
            )
    if sqlite:
        bind.exec_driver_sql("DROP TABLE IF EXISTS run_search_fts")
        bind.exec_driver_sql("DROP TABLE IF EXISTS run_search")
        for statement in _revision_0003().SQLITE:
            bind.exec_driver_sql(statement)
        return
    bind.exec_driver_sql("DROP TABLE IF EXISTS run_search")
    for function in PG_FUNCTIONS:
        bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS {function}")
    bind.exec_driver_sql(
        "CREATE INDEX ix_runs_topic_search ON runs USING gin (to_tsvector('duet', topic))"
    )
    bind.exec_driver_sql(
        "CREATE INDEX ix_turns_content_search ON turns USING gin (to_tsvector('duet', content))"
    )


def _revision_0003():  # a migration module, loaded by path as Alembic does
    path = next(Path(__file__).parent.glob("0003_*.py"))
    spec = importlib.util.spec_from_file_location("duet_migration_0003", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
