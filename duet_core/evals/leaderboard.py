"""A leaderboard of models (or personas) from people's pairwise votes: Bradley-Terry ratings
with 95% bootstrap intervals, and each one's wins, losses and ties.

Bradley-Terry: P(i beats j) = 1 / (1 + exp(θj − θi)). A tie counts as half a win for each side
(as Chatbot Arena's published fit does). The strengths θ maximise the log-likelihood of the votes
plus a weak Gaussian prior (``PRIOR``: a few pseudo-votes' worth), which keeps a model that
never lost finite and centres the θs on 0; Newton's method on this concave function converges
in a few steps. Ratings are on the familiar Elo scale, ``1000 + 400·log10(e)·θ``: 400 points
apart means 10 to 1 odds.

The intervals are percentile bootstrap: the votes are resampled with replacement ``rounds``
times (a fixed ``seed``, so the same votes give the same board) and refitted; each rating's
2.5th and 97.5th percentiles are its interval. Written with numpy alone: choix (the usual
library) fits the same model but brings scipy for a 30-line solver and has no ties.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from duet_core.store.evaluations import Vote

By = Literal["model", "persona"]
BY: tuple[str, ...] = ("model", "persona")
PRIOR = 0.05  # the Gaussian prior's precision on each θ (variance 20)
SCALE = 400 / math.log(10)
BASE = 1000.0
ROUNDS = 1000
SEED = 0
OUTCOME = {"a": 1.0, "b": 0.0, "tie": 0.5}


@dataclass(frozen=True, slots=True)
class Standing:
    name: str
    rating: float
    ci_low: float
    ci_high: float
    wins: int
    losses: int
    ties: int

    @property
    def votes(self) -> int:
        return self.wins + self.losses + self.ties

    def as_json(self) -> dict[str, Any]:
        """``eval leaderboard --json``'s item."""
        return {
            "name": self.name,
            "rating": round(self.rating, 1),
            "ci_low": round(self.ci_low, 1),
            "ci_high": round(self.ci_high, 1),
            "wins": self.wins,
            "losses": self.losses,
            "ties": self.ties,
        }


@dataclass(frozen=True, slots=True)
class Comparison:
    """One vote as the leaderboard reads it: ``a`` against ``b``, ``score`` for ``a``."""

    a: str
    b: str
    score: float  # 1 a won, 0 b won, 0.5 a tie


def comparisons(votes: Iterable[Vote], by: By = "model") -> list[Comparison]:
    """The votes between two different models (personas); one between the same two says
    nothing about either and is left out."""
    out = []
    for v in votes:
        a, b = (v.model_a, v.model_b) if by == "model" else (v.persona_a, v.persona_b)
        if a != b:
            out.append(Comparison(a, b, OUTCOME[v.winner]))
    return out


def fit(
    a: np.ndarray,
    b: np.ndarray,
    score: np.ndarray,
    n: int,
    weight: np.ndarray | None = None,
    start: np.ndarray | None = None,
    prior: float = PRIOR,
) -> np.ndarray:
    """Bradley-Terry strengths θ (natural-log scale) of ``n`` items from comparisons
    ``a[k]`` vs ``b[k]`` with ``score[k]`` for ``a[k]`` (each counted ``weight[k]`` times)."""
    w = np.ones(len(a)) if weight is None else weight.astype(float)
    theta = np.zeros(n) if start is None else start.copy()

    def objective(t: np.ndarray) -> float:
        d = t[a] - t[b]
        # log σ(d) = −log(1 + e^−d), computed stably
        return float(
            np.sum(w * (score * -np.logaddexp(0, -d) + (1 - score) * -np.logaddexp(0, d)))
            - prior / 2 * np.dot(t, t)
        )

    current = objective(theta)
    for _ in range(100):
        d = theta[a] - theta[b]
        p = 1 / (1 + np.exp(-d))
        r = w * (score - p)  # d loglik / d θa, per comparison
        grad = np.bincount(a, r, n) - np.bincount(b, r, n) - prior * theta
        h = w * p * (1 - p)
        cells = np.concatenate([a * n + a, b * n + b, a * n + b, b * n + a])
        hess = np.bincount(cells, np.concatenate([-h, -h, h, h]), n * n).reshape(n, n)
        hess -= prior * np.eye(n)
        step = np.linalg.solve(hess, -grad)
        size = 1.0
        while True:  # step halving: never let the objective go down
            trial = theta + size * step
            value = objective(trial)
            if value >= current - 1e-12 or size < 1e-6:
                break
            size /= 2
        theta, gained, current = trial, value - current, value
        if np.max(np.abs(size * step)) < 1e-9 or abs(gained) < 1e-12:
            break
    return theta


def rating(theta: np.ndarray | float) -> Any:
    return BASE + SCALE * theta


def leaderboard(
    votes: Sequence[Vote] | Sequence[Comparison],
    by: By = "model",
    rounds: int = ROUNDS,
    seed: int = SEED,
) -> list[Standing]:
    """The standings, best first (ties in rating by name). ``votes``: ``Vote`` rows (read
    ``by`` model or persona) or ``Comparison`` items."""
    items = [v for v in votes if isinstance(v, Comparison) and v.a != v.b]
    items += comparisons([v for v in votes if isinstance(v, Vote)], by)
    if not items:
        return []
    names = sorted({c.a for c in items} | {c.b for c in items})
    index = {name: i for i, name in enumerate(names)}
    a = np.array([index[c.a] for c in items])
    b = np.array([index[c.b] for c in items])
    score = np.array([c.score for c in items])
    n = len(names)
    # fitted over pairs, not votes: each (a, b) once, with its count and its share of a's points
    pair_ids, pair = np.unique(a * n + b, return_inverse=True)
    pa, pb = pair_ids // n, pair_ids % n

    def fit_weighted(weight: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
        count = np.bincount(pair, weight, len(pair_ids))
        points = np.bincount(pair, weight * score, len(pair_ids))
        share = np.divide(points, count, out=np.zeros_like(points), where=count > 0)
        return fit(pa, pb, share, n, weight=count, start=start)

    theta = fit_weighted(np.ones(len(items)))
    rng = np.random.default_rng(seed)
    samples = np.empty((rounds, n))
    for r in range(rounds):
        drawn = rng.integers(0, len(items), len(items))  # the votes, with replacement
        samples[r] = fit_weighted(np.bincount(drawn, minlength=len(items)).astype(float), theta)
    low, high = np.percentile(samples, [2.5, 97.5], axis=0) if rounds else (theta, theta)

    wins = np.bincount(a, score == 1, n) + np.bincount(b, score == 0, n)
    losses = np.bincount(a, score == 0, n) + np.bincount(b, score == 1, n)
    ties = np.bincount(a, score == 0.5, n) + np.bincount(b, score == 0.5, n)
    standings = [
        Standing(
            name,
            float(rating(theta[i])),
            float(rating(low[i])),
            float(rating(high[i])),
            int(wins[i]),
            int(losses[i]),
            int(ties[i]),
        )
        for i, name in enumerate(names)
    ]
    return sorted(standings, key=lambda s: (-s.rating, s.name))
