"""Search by run (migration 0005): a database with data at 0004 upgrades and finds its runs;
the index does not depend on the runs table's implicit rowid (VACUUM, renumbered rowids); on
PostgreSQL a run whose words outgrow one tsvector is still found by every word. SQLite and
PostgreSQL give the same answers."""

from __future__ import annotations

import random
import sqlite3

import pytest
from alembic import command
from sqlalchemy import delete, insert, inspect, text

from duet_core.models import RunStatus
from duet_core.store import RunQuery, Store, database_url
from duet_core.store import search as fts
from duet_core.store.connect import open_engine
from duet_core.store.migrate import alembic_config, head_revision
from duet_core.store.rows import run_values, turn_values
from duet_core.store.schema import runs, turns

SEARCHES = {  # query -> the keys of the runs it finds
    "pelican": {"birds", "both"},
    "FLAMINGO": {"both"},
    "pelican flamingo": {"both"},  # in two different turns of one run
    "harbour pelican": {"birds"},  # the topic and a turn
    "zürich": {"city"},
    "gone": set(),  # a deleted run's words leave with it
    "xylophone": set(),
}


def _ids(store: Store, query: str) -> list[str]:
    page = store.list_runs(RunQuery(search=query, limit=100))
    assert page.total == len(page.items)
    return [s.id for s in page.items]


def _keys(store: Store, names: dict[str, str], query: str) -> set[str]:
    return {names[i] for i in _ids(store, query)}


def _make_runs(make_run, make_turn):
    made = {}
    for key, topic, contents in (
        ("gone", "Deleted first", ["gone words"]),
        ("birds", "Birds of the harbour", ["a pelican", "nothing else"]),
        ("both", "Two birds", ["one pelican", "one flamingo"]),
        ("city", "Cities", ["Zurich, or ZÜRICH"]),
    ):
        run = make_run(topic, status=RunStatus.COMPLETED)
        run.turns = [make_turn(run, i, content=c) for i, c in enumerate(contents)]
        made[key] = run
    return made


def _at_revision(url: str, revision: str, make_run, make_turn) -> dict[str, str]:
    """A database at ``revision`` (0004: 0003's search index) with runs in it, the first one
    deleted again (a gap in the runs' rowids). Returns run id -> key."""
    engine = open_engine(database_url(url))
    made = _make_runs(make_run, make_turn)
    with engine.connect() as conn:
        conn.execution_options(duet_write=True)
        with conn.begin():
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            there = {c["name"] for c in inspect(conn).get_columns("runs")}  # at ``revision``
            for run in made.values():
                values = {k: v for k, v in run_values(run).items() if k in there}
                conn.execute(insert(runs), [values])
                conn.execute(insert(turns), [turn_values(run.id, t) for t in run.turns])
            conn.execute(delete(runs).where(runs.c.id == made["gone"].id))
    engine.dispose()
    return {run.id: key for key, run in made.items()}


def _check_sqlite_index(store: Store) -> None:
    if store.dialect == "sqlite":  # FTS5's own check of its index
        with store.engine.begin() as conn:
            for table in fts.SQLITE_TABLES:
                conn.exec_driver_sql(f"INSERT INTO {table}({table}) VALUES ('integrity-check')")


def test_a_database_at_0004_with_data_upgrades_and_finds_its_runs(
    db_url, make_run, make_turn, caplog
):
    names = _at_revision(db_url, "0004", make_run, make_turn)
    with caplog.at_level("WARNING", logger="duet_core.store.migrate"):
        store = Store(db_url)  # migrates 0004 -> head, and says so (a slow start, once)
    said = [r.getMessage() for r in caplog.records if r.name == "duet_core.store.migrate"]
    assert said[0].startswith(f"Upgrading the database from revision 0004 to {head_revision()}")
    assert said[1].startswith("Database upgraded in")
    with store:
        with store.engine.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert version == head_revision() and version >= "0005"
        assert {q: _keys(store, names, q) for q in SEARCHES} == SEARCHES
        _check_sqlite_index(store)

        # turns saved after the upgrade are found too; a replaced one no longer
        new = make_run("Later", status=RunStatus.RUNNING)
        store.create_run(new)
        store.save_turn(new.id, make_turn(new, 0, content="a late pelican"))
        names[new.id] = "late"
        assert _keys(store, names, "pelican") == {"birds", "both", "late"}
        store.save_turn(new.id, make_turn(new, 0, content="a late heron"))
        assert _keys(store, names, "pelican") == {"birds", "both"}
        assert _keys(store, names, "heron later") == {"late"}
        _check_sqlite_index(store)


@pytest.mark.parametrize("revision", ["0004", "0003"])
def test_downgrade_and_up_again(db_url, make_run, make_turn, revision):
    """Down to 0004 (0003's search index) or to 0003 (no leases: 0004's columns dropped in
    place, the runs table not rebuilt under 0003's triggers), and up again."""
    names = _at_revision(db_url, "head", make_run, make_turn)
    engine = open_engine(database_url(db_url))
    with engine.connect() as conn:
        conn.execution_options(duet_write=True)
        with conn.begin():
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, revision)
        if conn.dialect.name == "sqlite":  # 0003's tables are back, whole
            with conn.begin():
                for table in ("runs_fts", "turns_fts"):
                    conn.exec_driver_sql(f"INSERT INTO {table}({table}) VALUES ('integrity-check')")
                hits = conn.exec_driver_sql(
                    "SELECT count(*) FROM turns_fts WHERE turns_fts MATCH 'pelican'"
                ).scalar()
            assert hits == 2
    engine.dispose()
    with Store(db_url) as store:
        assert {q: _keys(store, names, q) for q in SEARCHES} == SEARCHES
        _check_sqlite_index(store)


def test_search_does_not_depend_on_the_runs_rowids(db_url, make_run, make_turn):
    """VACUUM may renumber the implicit rowids of a table without an INTEGER PRIMARY KEY (as
    does a dump and restore, or a migration that rebuilds the table); 0003 keyed SQLite's
    index on them. After a VACUUM, and after every run's rowid has changed, search still
    finds the right runs."""
    with Store(db_url) as store:
        made = _make_runs(make_run, make_turn)
        for run in made.values():
            store.create_run(run)
        names = {run.id: key for key, run in made.items()}
        store.set_status(made["gone"].id, RunStatus.STOPPED)
        store.delete_run(made["gone"].id)
        expected = {q: _keys(store, names, q) for q in SEARCHES}
        assert expected == SEARCHES

        if store.dialect == "sqlite":
            raw = sqlite3.connect(store.url.database, isolation_level=None)
            try:
                raw.execute("VACUUM")
                assert {q: _keys(store, names, q) for q in SEARCHES} == SEARCHES
                before = raw.execute("SELECT id, rowid FROM runs ORDER BY id").fetchall()
                # renumbered in reverse, so that 0003's index would name the wrong runs
                raw.execute("UPDATE runs SET rowid = -rowid")
                raw.execute("UPDATE runs SET rowid = 1000 + rowid")
                after = raw.execute("SELECT id, rowid FROM runs ORDER BY id").fetchall()
                assert [r for _, r in after] == [1000 - r for _, r in before]
            finally:
                raw.close()
        else:
            with store.engine.connect() as conn:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                conn.exec_driver_sql("VACUUM FULL runs")
                conn.exec_driver_sql("VACUUM FULL run_search")
        assert {q: _keys(store, names, q) for q in SEARCHES} == SEARCHES

        # and the index still follows new, replaced and deleted runs and turns
        late = make_run("Heron watch", status=RunStatus.COMPLETED)
        late.turns = [make_turn(late, 0, content="a pelican"), make_turn(late, 1)]
        store.create_run(late)
        names[late.id] = "late"
        assert _keys(store, names, "pelican") == {"birds", "both", "late"}
        store.save_turn(late.id, make_turn(late, 0, content="a heron"))
        assert _keys(store, names, "pelican") == {"birds", "both"}
        store.delete_run(made["both"].id)
        assert _keys(store, names, "pelican") == {"birds"}
        assert _keys(store, names, "heron") == {"late"}
        _check_sqlite_index(store)


def _words(rng: random.Random, n: int) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choices(letters, k=24)) for _ in range(n)]


def test_a_run_with_more_words_than_one_tsvector_holds(store, make_run, make_turn):
    """PostgreSQL's tsvector holds at most 1 MB: a run's words go on in a second row, a single
    turn that big is indexed in pieces; every word is still found, the same as on SQLite."""
    rng = random.Random(5)
    chunks = [_words(rng, 15_000) for _ in range(3)]  # ~1.1 MB of distinct words in all
    run = make_run("A very wordy run", status=RunStatus.COMPLETED)
    run.turns = [
        make_turn(run, 0, content="needleone " + " ".join(chunks[0])),
        make_turn(run, 1, content=" ".join(chunks[1])),
        make_turn(run, 2, content=" ".join(chunks[2]) + " needletwo"),
    ]
    store.create_run(run)
    big = make_run("One huge turn", status=RunStatus.COMPLETED)
    huge = _words(rng, 45_000)
    big.turns = [make_turn(big, 0, content=" ".join(huge))]
    store.create_run(big)
    if store.dialect == "postgresql":  # the paths under test were taken
        with store.engine.connect() as conn:
            parts = dict(
                conn.execute(text("SELECT run_id, count(*) FROM run_search GROUP BY run_id")).all()
            )
        assert parts[run.id] > 1 and parts[big.id] > 1

    assert _ids(store, "needleone needletwo") == [run.id]  # words in two different rows
    assert _ids(store, f"{chunks[0][5]} {chunks[2][-5]} wordy") == [run.id]
    assert _ids(store, f"{huge[0]} {huge[22_500]} {huge[-1]}") == [big.id]
    assert _ids(store, f"{huge[0]} needleone") == []

    # a replaced turn rebuilds the run's rows: its old words go, the others stay
    store.save_turn(run.id, make_turn(run, 1, content="replacement"))
    assert _ids(store, chunks[1][7]) == []
    assert _ids(store, "needleone needletwo replacement") == [run.id]
    _check_sqlite_index(store)
