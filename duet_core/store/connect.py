"""Opening the database: URLs, the SQLAlchemy engine, SQLite's pragmas.

SQLite runs in WAL mode with a busy timeout and foreign keys on; writes start with
``BEGIN IMMEDIATE`` so they queue on the write lock instead of failing. Within one process
the writers to one SQLite file also take turns on a lock of their own (``write_lock``):
SQLite lets one write at a time anyway, and a thread waiting on a Python lock is woken the
moment it is free, where SQLite's busy handler sleeps and retries, and with a hundred runs
saving turns at once gave up after its timeout ("database is locked").
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from duet_core.errors import ConfigError

BUSY_TIMEOUT_MS = 5000
_write_locks: dict[str, threading.RLock] = {}
_write_locks_guard = threading.Lock()


class DatabaseUnavailable(ConfigError):
    """The database URL is wrong, its driver is missing, or the server cannot be reached."""


def parse_url(url: str | URL) -> URL:
    try:
        return database_url(url)
    except ArgumentError:
        raise DatabaseUnavailable(
            f"Not a database URL: {str(url)[:100]!r}. Use e.g. sqlite:///data/duet.db or "
            "postgresql://user@host/duet."
        ) from None


def database_url(url: str | URL) -> URL:
    """Parse ``url``; plain ``postgresql://`` (or ``postgres://``) uses the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def open_engine(url: URL) -> Engine:
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    database = url.database or ""
    in_memory = database in ("", ":memory:") or url.query.get("mode") == "memory"
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if in_memory:
        kwargs["poolclass"] = StaticPool  # one shared connection, or each would be empty
    else:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def write_lock(url: URL) -> AbstractContextManager[Any]:
    """What this process's writers to ``url`` hold around each write transaction: one lock
    per SQLite file (an in-memory database has one engine: a lock of its own), nothing for a
    server database. Ask once per engine."""
    if url.get_backend_name() != "sqlite":
        return nullcontext()
    database = url.database or ""
    if database in ("", ":memory:") or url.query.get("mode") == "memory":
        return threading.RLock()
    key = str(Path(database).expanduser().resolve())
    with _write_locks_guard:
        return _write_locks.setdefault(key, threading.RLock())


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (_sqlite_begin)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    write = conn.get_execution_options().get("duet_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
