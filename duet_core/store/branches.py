"""The statements that read a run's branches (runs saved from the Prompt Lab with
``parent_id`` = its id). ``Store`` runs them inside its error wrapping."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from duet_core.store.schema import runs


@dataclass(frozen=True)
class BranchSummary:
    id: str
    owner: str
    created_at: datetime
    fork_turn: int | None  # the index of the branch's first new turn
    turn_count: int
    status: str


def branches_of(conn: Connection, run_id: str, owner: str | None) -> list[BranchSummary]:
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
    rows = conn.execute(stmt.order_by(runs.c.created_at, runs.c.id)).all()
    return [
        BranchSummary(r.id, r.owner, r.created_at, r.fork_turn, r.turn_count, r.status)
        for r in rows
    ]


def branch_counts(conn: Connection, run_ids: list[str], owner: str | None) -> dict[str, int]:
    stmt = (
        select(runs.c.parent_id, func.count())
        .where(runs.c.parent_id.in_(run_ids))
        .group_by(runs.c.parent_id)
    )
    if owner is not None:
        stmt = stmt.where(runs.c.owner == owner)
    return {parent: n for parent, n in conn.execute(stmt).all()}


def parents_of(conn: Connection, run_ids: list[str]) -> dict[str, tuple[str, int | None]]:
    stmt = select(runs.c.id, runs.c.parent_id, runs.c.fork_turn).where(
        runs.c.id.in_(run_ids), runs.c.parent_id.is_not(None)
    )
    return {r.id: (r.parent_id, r.fork_turn) for r in conn.execute(stmt)}
