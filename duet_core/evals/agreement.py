"""How far a judge agrees with people, where both scored the same turns: Spearman's rank
correlation between the judge's score and people's mean score per turn (1: the same order,
0: unrelated, −1: reversed). Ties get their mean rank. Fewer than three shared turns, or scores
that never vary, give no correlation (None)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

MIN_ITEMS = 3


@dataclass(frozen=True, slots=True)
class Agreement:
    judge: str
    items: int
    spearman: float | None

    def as_json(self) -> dict[str, Any]:
        rho = None if self.spearman is None else round(self.spearman, 3)
        return {"judge": self.judge, "items": self.items, "spearman": rho}


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties sharing their mean rank."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    for value in np.unique(values):
        same = values == value
        ranks[same] = ranks[same].mean()
    return ranks


def spearman(x: Iterable[float], y: Iterable[float]) -> float | None:
    a, b = np.asarray(list(x), float), np.asarray(list(y), float)
    if len(a) < MIN_ITEMS or len(a) != len(b):
        return None
    ra, rb = _ranks(a), _ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return None
    return float(np.corrcoef(ra, rb)[0, 1])


def agreements(pairs: Iterable[tuple[str, float, float]]) -> list[Agreement]:
    """Per judge, from ``(judge, judge's score, people's score)`` (``paired_scores``)."""
    by_judge: dict[str, tuple[list[float], list[float]]] = {}
    for judge, theirs, people in pairs:
        xs, ys = by_judge.setdefault(judge, ([], []))
        xs.append(theirs)
        ys.append(people)
    return [Agreement(j, len(xs), spearman(xs, ys)) for j, (xs, ys) in sorted(by_judge.items())]
