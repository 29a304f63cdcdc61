"""Migrations create the schema, are recorded, and run once."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from duet_core.store import Store, database_url, search
from duet_core.store.migrate import MIGRATIONS_DIR, head_revision
from duet_core.store.schema import Base


def test_migrations_create_the_schema_and_are_recorded(store):
    tables = set(inspect(store.engine).get_table_names())
    assert {"runs", "turns", "alembic_version"} <= tables
    with store.engine.connect() as conn:
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    assert versions == [head_revision()]


def test_restart_is_idempotent_and_keeps_data(db_url, open_store, make_run):
    first = open_store()
    run = make_run(turns=2)
    first.create_run(run)
    first.close()

    again = open_store()  # migrations already at head: nothing to do, nothing lost
    with again.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    assert again.get_run(run.id) == run


def test_tables_match_the_migrations(store):
    """The ORM tables and the hand-written migrations describe the same schema."""
    with store.engine.connect() as conn:
        # the full-text search tables (SQLite FTS5) live outside the ORM metadata
        skip_search = {"include_name": lambda name, kind, _: not search.is_search_object(name)}
        context = MigrationContext.configure(conn, opts=skip_search)
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_indexes_exist(store):
    names = {ix["name"] for ix in inspect(store.engine).get_indexes("runs")}
    assert {"ix_runs_created_at", "ix_runs_owner_created_at", "ix_runs_status_created_at"} <= names


def test_migrations_ship_inside_the_package():
    assert MIGRATIONS_DIR.parent.name == "store"
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0001_initial.py").is_file()


def test_sqlite_creates_the_folder_and_sets_pragmas(tmp_path: Path):
    path = tmp_path / "nested" / "deeper" / "duet.db"
    with Store(f"sqlite:///{path}") as store:
        assert path.is_file()
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000


def test_sqlite_in_memory_works_across_threads(make_run):
    import threading

    with Store("sqlite://") as store:
        run = make_run(turns=1)
        t = threading.Thread(target=store.create_run, args=(run,))
        t.start()
        t.join()
        assert store.get_run(run.id) == run


def test_postgresql_urls_use_psycopg():
    for url in ("postgresql://u:p@db/duet", "postgres://u:p@db/duet"):
        assert database_url(url).drivername == "postgresql+psycopg"
    assert database_url("postgresql+psycopg://u@db/x").drivername == "postgresql+psycopg"
    assert database_url("sqlite:///data/duet.db").drivername == "sqlite"
