"""What a run's scores show, worked out without drawing: the judges' latest score for the run
or mean over its turns, each turn's scores, people's ratings, and score columns for tables."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from statistics import mean

from duet_core.models import Evaluation
from duet_core.store.evaluations import TurnRating


def label(e: Evaluation) -> str:
    """A score's name: its judge, and the criterion when the rubric named several."""
    return f"{e.judge}.{e.criterion}" if e.criterion else e.judge


def latest(evaluations: Iterable[Evaluation]) -> list[Evaluation]:
    """The latest evaluation per (name, turn), in the order first made: a judge run again
    replaces its earlier scores on the page (they stay stored and exported)."""
    kept: dict[tuple[str, int | None], Evaluation] = {}
    for e in sorted(evaluations, key=lambda e: e.created_at):
        kept[(label(e), e.turn)] = e
    return list(kept.values())


@dataclass(frozen=True)
class Summary:
    """One judge's (or criterion's) score of a run: the run's own score with its reason, or
    the mean over the turns it scored."""

    name: str
    per: str  # "run" | "turn"
    score: float
    count: int  # turns scored (1 for a run's own score)
    reason: str
    model: str | None

    @property
    def value(self) -> str:
        shown = f"{self.score:g}" if self.per == "run" else f"{self.score:.1f}"
        return f"{shown}/10"

    @property
    def note(self) -> str:
        if self.per == "run":
            return self.reason
        return f"mean over {self.count} turn{'s' if self.count != 1 else ''}"


def summaries(evaluations: Iterable[Evaluation]) -> list[Summary]:
    """The run's score per judge name, as first judged."""
    groups: dict[tuple[str, str], list[Evaluation]] = {}
    for e in latest(evaluations):
        groups.setdefault((label(e), e.per), []).append(e)
    out = []
    for (name, per), items in groups.items():
        if per == "run":
            e = items[-1]
            out.append(Summary(name, per, float(e.score), 1, e.reason, e.model))
        else:
            score = round(mean(e.score for e in items), 2)
            out.append(Summary(name, per, score, len(items), "", items[-1].model))
    return out


def by_turn(evaluations: Iterable[Evaluation]) -> dict[int, list[Evaluation]]:
    """Each judged turn's latest scores."""
    out: dict[int, list[Evaluation]] = {}
    for e in latest(evaluations):
        if e.turn is not None:
            out.setdefault(e.turn, []).append(e)
    return out


def ratings_by_turn(ratings: Iterable[TurnRating]) -> dict[int, list[TurnRating]]:
    out: dict[int, list[TurnRating]] = {}
    for r in ratings:
        out.setdefault(r.turn, []).append(r)
    return out


def people_line(ratings: Sequence[TurnRating]) -> str:
    """``"people 7.5/10 (alice 8, bob 7)"``."""
    if not ratings:
        return ""
    who = ", ".join(f"{r.rater} {r.score}" for r in ratings)
    return f"people {mean(r.score for r in ratings):.1f}/10 ({who})"


def overall(means: Mapping[str, float] | None) -> float | None:
    """One number for a table cell: the mean of each judge's mean score of a run."""
    if not means:
        return None
    return round(mean(means.values()), 2)
