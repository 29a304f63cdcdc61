"""Which runs a ``RunQuery`` selects, as SQL conditions, and every selected run read back in
batches for bulk exports (``Store.list_runs``, ``Store.export_rows``, ``Store.export_size``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, and_, or_, select

from duet_core.models import RunStatus, utcnow
from duet_core.store import leases, search
from duet_core.store.query import RunQuery
from duet_core.store.schema import runs, turns

EXPORT_BATCH = 100  # runs read per transaction by ``batches``


def conditions(q: RunQuery, dialect: str) -> list[ColumnElement[bool]]:
    """The query's filters (``limit``/``offset`` aside) on the runs table."""
    where: list[ColumnElement[bool]] = []
    if q.owner is not None:
        where.append(runs.c.owner == q.owner)
    if q.statuses:
        where.append(leases.status_in([RunStatus(s) for s in q.statuses], utcnow()))
    if q.provider:
        where.append(or_(runs.c.bot0_provider == q.provider, runs.c.bot1_provider == q.provider))
    if q.model:
        where.append(or_(runs.c.bot0_model == q.model, runs.c.bot1_model == q.model))
    if q.since is not None:
        where.append(runs.c.created_at >= q.since)
    if q.until is not None:
        where.append(runs.c.created_at < q.until)
    if q.experiment is not None:
        where.append(runs.c.experiment_id == q.experiment)
    if q.search:  # full-text: see duet_core/store/search.py
        where.append(search.condition(dialect, q.search))
    return where


def batches(
    read: Callable[[], AbstractContextManager[Connection]],
    where: list[ColumnElement[bool]],
    search_text: str | None,
    *,
    with_json: bool = True,
) -> Iterator[tuple[Row[Any], list[Row[Any]]]]:
    """Every run matching ``where``, its row with its turns' rows in order, newest run first:
    rows, not models (no config is validated), read ``EXPORT_BATCH`` runs at a time (one
    ``read()`` transaction each) so memory is bounded by the batch. Turn rows also carry
    ``temperature`` (read from the saved config by the database); ``with_json=False`` leaves
    out their config, prompt and request_messages (what a CSV does not need)."""
    temperature = turns.c.config["temperature"].as_float().label("temperature")
    skip = () if with_json else ("config", "prompt", "request_messages")
    turn_columns = [c for c in turns.c if c.key not in skip] + [temperature]
    after: tuple[datetime, str] | None = None
    while True:
        stmt = select(runs).where(*where)
        if after is not None:
            stmt = stmt.where(
                or_(
                    runs.c.created_at < after[0],
                    and_(runs.c.created_at == after[0], runs.c.id < after[1]),
                )
            )
        stmt = stmt.order_by(runs.c.created_at.desc(), runs.c.id.desc()).limit(EXPORT_BATCH)
        with read() as conn:
            search.prepare(conn, search_text)
            batch = conn.execute(stmt).all()
            by_run = turns_of(conn, [r.id for r in batch], turn_columns)
        for r in batch:
            yield r, by_run.get(r.id, [])
        if len(batch) < EXPORT_BATCH:
            return
        after = (batch[-1].created_at, batch[-1].id)


def turns_of(conn: Any, run_ids: list[str], turn_columns: Any) -> dict[str, list[Row[Any]]]:
    """The turns' rows (``turn_columns``) of ``run_ids``, in order, by run: one query."""
    by_run: dict[str, list[Row[Any]]] = {}
    if run_ids:
        found = conn.execute(
            select(*turn_columns)
            .where(turns.c.run_id.in_(run_ids))
            .order_by(turns.c.run_id, turns.c.index)
        )
        for t in found:
            by_run.setdefault(t.run_id, []).append(t)
    return by_run
