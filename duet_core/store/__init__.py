"""Saved runs: SQLAlchemy tables, Alembic migrations, and the ``Store`` that reads and writes.

``Store("sqlite:///data/duet.db")`` (or a ``postgresql://`` URL) applies pending migrations;
then ``create_run``, ``save_turn`` (each turn committed at once), ``set_status``, ``get_run``,
``list_runs(RunQuery(...))`` for the History page (full-text search: ``search.py``), and
``export_rows`` (rows, in batches: ``selection.py``) / ``runs_for_export`` (models) for bulk
downloads.
"""

from duet_core.store.connect import database_url
from duet_core.store.query import BotSummary, RunPage, RunQuery, RunSummary
from duet_core.store.store import RunNotFound, Store

__all__ = [
    "BotSummary",
    "RunNotFound",
    "RunPage",
    "RunQuery",
    "RunSummary",
    "Store",
    "database_url",
]
