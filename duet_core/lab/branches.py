"""A run's branches (runs saved from the Prompt Lab with ``parent_id`` = its id). Reads only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from duet_core.store.branches import BranchSummary


def branches_of(store: Any, run_id: str, owner: str | None = None) -> list[BranchSummary]:
    """The branches of ``run_id``, oldest first; only ``owner``'s when given."""
    return store.branches_of(run_id, owner)


def branch_counts(store: Any, run_ids: list[str], owner: str | None = None) -> dict[str, int]:
    """How many branches each of ``run_ids`` has (runs without any are left out)."""
    return store.branch_counts(run_ids, owner) if run_ids else {}


@dataclass(frozen=True)
class Family:
    """Where a run stands among branches: its parent (when it is a branch) and how many
    branches it has."""

    parent_id: str | None
    fork_turn: int | None
    branches: int


def families(store: Any, run_ids: list[str], owner: str | None = None) -> dict[str, Family]:
    """For each of ``run_ids`` that is a branch or has branches, its ``Family``."""
    if not run_ids:
        return {}
    parents = store.parents_of(run_ids)
    counts = branch_counts(store, run_ids, owner)
    return {
        run_id: Family(*parents.get(run_id, (None, None)), counts.get(run_id, 0))
        for run_id in run_ids
        if run_id in parents or run_id in counts
    }


def nest(run_ids: list[str], parent_of: dict[str, str | None]) -> list[str]:
    """``run_ids`` reordered so each branch comes right under its parent when the parent is
    among them (branches in their given order); the rest keep their order."""
    present = set(run_ids)
    children: dict[str, list[str]] = {}
    for run_id in run_ids:
        parent = parent_of.get(run_id)
        if parent in present and parent != run_id:
            children.setdefault(parent, []).append(run_id)
    placed: list[str] = []
    seen: set[str] = set()

    def place(run_id: str) -> None:
        if run_id in seen:
            return
        seen.add(run_id)
        placed.append(run_id)
        for child in children.get(run_id, []):
            place(child)

    for run_id in run_ids:
        if parent_of.get(run_id) not in present or parent_of.get(run_id) == run_id:
            place(run_id)
    for run_id in run_ids:  # a cycle cannot happen with real ids, but never lose a row
        place(run_id)
    return placed
