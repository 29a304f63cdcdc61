"""Full-text search: the same answers on SQLite (FTS5) and PostgreSQL (tsvector), every
query safe, the index kept in step with the turns, and old databases indexed by the migration."""

from __future__ import annotations

from alembic import command
from sqlalchemy import insert, inspect

from duet_core.models import RunStatus
from duet_core.store import RunQuery, Store, database_url
from duet_core.store import search as fts
from duet_core.store.connect import open_engine
from duet_core.store.migrate import alembic_config
from duet_core.store.rows import run_values
from duet_core.store.schema import runs, turns

TEXTS = {
    "cafe": "We met at the Café de Flore and ordered croissants.",
    "zurich": "ZÜRICH is expensive, said Ada; Zurich agrees.",
    "naive": "A naïve façade hides the structure.",
    "quotes": 'He said "hello world" and left (quietly).',
    "ops": "Cats AND dogs OR birds: NOT fish; near the sea - minus* plus+ 3d printing",
    "plain": "Nothing special here at all, just rivers and mountains.",
}

# query -> which texts' runs it finds; every query runs on both databases
CASES = [
    ("café", {"cafe"}),
    ("CAFE", {"cafe"}),
    ("caf", {"cafe"}),  # the start of a word
    ("zurich", {"zurich"}),
    ("Zürich", {"zurich"}),
    ("naive facade", {"naive"}),
    ("NAÏVE", {"naive"}),
    ('"hello world"', {"quotes"}),
    ('"hello', {"quotes"}),
    ("hello)", {"quotes"}),
    ("cats AND dogs", {"ops"}),
    ("dogs OR", {"ops"}),
    ("NOT fish", {"ops"}),
    ("NEAR(sea", {"ops"}),
    ("-minus", {"ops"}),
    ("plus+", {"ops"}),
    ("3d", {"ops"}),
    ("river mountain", {"plain"}),
    ("river hello", set()),
    ("*", set()),
    ('"', set()),
    ("' OR 1=1 --", set()),
    ("a:b & c | !d <-> e", set()),
    ("xylophone", set()),
]


def _seed(store: Store, make_run, make_turn) -> dict[str, str]:
    ids = {}
    for key, content in TEXTS.items():
        run = make_run(f"Run about {key}", status=RunStatus.COMPLETED)
        run.turns = [make_turn(run, 0), make_turn(run, 1, content=content)]
        store.create_run(run)
        ids[run.id] = key
    return ids


def _found(store: Store, ids: dict[str, str], text: str) -> set[str]:
    page = store.list_runs(RunQuery(search=text, limit=100))
    assert page.total == len(page.items)
    return {ids[s.id] for s in page.items}


def test_search_answers_are_the_same_on_both_databases(store, make_run, make_turn):
    ids = _seed(store, make_run, make_turn)
    got = {text: _found(store, ids, text) for text, _ in CASES}
    assert got == {text: expected for text, expected in CASES}


def test_topic_matches_too(store, make_run):
    run = make_run("Les Misérables revisited")
    store.create_run(run)
    assert [s.id for s in store.list_runs(RunQuery(search="miserables")).items] == [run.id]


def test_index_follows_replaced_and_deleted_turns(store, make_run, make_turn):
    run = make_run("Topic")
    run.turns = [make_turn(run, 0, content="the original pelican")]
    store.create_run(run)
    assert store.list_runs(RunQuery(search="pelican")).total == 1

    store.save_turn(run.id, make_turn(run, 0, content="a replacement flamingo"))
    assert store.list_runs(RunQuery(search="pelican")).total == 0
    assert store.list_runs(RunQuery(search="flamingo")).total == 1

    store.set_status(run.id, RunStatus.STOPPED)
    store.delete_run(run.id)  # the turns go by cascade; the index must follow
    assert store.list_runs(RunQuery(search="flamingo")).total == 0
    again = make_run("Topic")
    again.turns = [make_turn(again, 0, content="flamingo again")]
    store.create_run(again)
    assert [s.id for s in store.list_runs(RunQuery(search="flamingo")).items] == [again.id]
    if store.dialect == "sqlite":  # FTS5's own check of its index
        with store.engine.begin() as conn:
            for table in fts.SQLITE_TABLES:
                conn.exec_driver_sql(f"INSERT INTO {table}({table}) VALUES ('integrity-check')")


def test_search_combines_with_other_filters(store, make_run, make_turn):
    mine = make_run("Shared words", owner="alice")
    mine.turns = [make_turn(mine, 0, content="albatross")]
    theirs = make_run("Shared words", owner="bob")
    theirs.turns = [make_turn(theirs, 0, content="albatross")]
    store.create_run(mine)
    store.create_run(theirs)
    page = store.list_runs(RunQuery(search="albatross", owner="alice"))
    assert [s.id for s in page.items] == [mine.id]


def test_query_words():
    assert fts.query_words('"Hello"  wörld* (x_y) 3D') == ["hello", "wörld", "x", "y", "3d"]
    assert fts.query_words("*:&|!") == []
    assert len(fts.query_words(" ".join(["w"] * 50))) == fts.MAX_WORDS


def test_a_database_from_before_search_finds_its_old_turns(db_url, make_run, make_turn):
    """Turns saved at revision 0002 (no search index) are found once 0003 has run."""
    engine = open_engine(database_url(db_url))
    old = make_run("An old topic about kestrels", status=RunStatus.COMPLETED)
    old.turns = [make_turn(old, 0, content="Owls and the Ærøskøbing ferry at dawn")]
    with engine.connect() as conn:
        conn.execution_options(duet_write=True)
        with conn.begin():
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0002")
            known = {c["name"] for c in inspect(conn).get_columns("runs")}  # as of 0002
            conn.execute(insert(runs), [{k: v for k, v in run_values(old).items() if k in known}])
            rows = [
                {
                    "run_id": old.id,
                    "index": t.index,
                    "bot_index": t.bot_index,
                    "bot_name": t.bot_name,
                    "content": t.content,
                    "thinking": t.thinking,
                    "started_at": t.started_at,
                }
                for t in old.turns
            ]
            conn.execute(insert(turns).values(rows[0]))
    engine.dispose()

    with Store(db_url) as store:  # migrates to the head
        assert [s.id for s in store.list_runs(RunQuery(search="OWLS dawn")).items] == [old.id]
        assert store.list_runs(RunQuery(search="kestrel")).total == 1
        assert store.list_runs(RunQuery(search="ferry")).total == 1
