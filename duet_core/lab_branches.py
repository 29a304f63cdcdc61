"""A run's branches (runs saved from the Prompt Lab with ``parent_id`` = its id). Reads only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from duet_core.store.schema import runs


@dataclass(frozen=True)
class BranchSummary:
    id: str
    owner: str
    created_at: datetime
    fork_turn: int | None  # the index of the branch's first new turn
    turn_count: int
    status: str


def branches_of(store: Any, run_id: str, owner: str | None = None) -> list[BranchSummary]:
    """The branches of ``run_id``, oldest first; only ``owner``'s when given."""
    stmt = select(
        runs.c.id,
        runs.c.owner,
        runs.c.created_at,
        runs.c.fork_turn,
        runs.c.turn_count,
        runs.c.status,
    ).where(runs.c.parent_id == run_id)
    if owner is not None:
        stmt = stmt.where(runs.c.owner == owner)
    with store.engine.connect() as conn:
        rows = conn.execute(stmt.order_by(runs.c.created_at, runs.c.id)).all()
    return [
        BranchSummary(r.id, r.owner, r.created_at, r.fork_turn, r.turn_count, r.status)
        for r in rows
    ]


def branch_counts(store: Any, run_ids: list[str], owner: str | None = None) -> dict[str, int]:
    """How many branches each of ``run_ids`` has (runs without any are left out)."""
    if not run_ids:
        return {}
    stmt = (
        select(runs.c.parent_id, func.count())
        .where(runs.c.parent_id.in_(run_ids))
        .group_by(runs.c.parent_id)
    )
    if owner is not None:
        stmt = stmt.where(runs.c.owner == owner)
    with store.engine.connect() as conn:
        return {parent: n for parent, n in conn.execute(stmt).all()}
