"""Apply the Alembic migrations that ship inside this package; no alembic.ini needed."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_PG_LOCK_KEY = 0x64756574  # "duet": serialises start-ups that migrate at the same moment

log = logging.getLogger(__name__)


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest revision, in one transaction.

    The write lock taken first (SQLite ``BEGIN IMMEDIATE``, a PostgreSQL advisory lock) lets
    two processes start at once: the second waits, then finds nothing left to do.
    """
    with engine.connect() as conn:
        conn.execution_options(duet_write=True)
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            found, head = current_revision(conn), head_revision()
            if found == head:
                return
            if found is not None:  # an existing database: say why this start is slow
                log.warning(
                    "Upgrading the database from revision %s to %s; with many saved runs"
                    " this takes a while once (the search index is built again)",
                    found,
                    head,
                )
            began = time.monotonic()
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            if found is not None:
                log.warning("Database upgraded in %.1f s", time.monotonic() - began)
