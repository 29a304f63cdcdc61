"""Opening the database: URLs, the SQLAlchemy engine, SQLite's pragmas.

SQLite runs in WAL mode with a busy timeout and foreign keys on; writes start with
``BEGIN IMMEDIATE`` so they queue on the write lock instead of failing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from duet_core.errors import ConfigError

BUSY_TIMEOUT_MS = 5000


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
