"""Scores and votes (docs/design.md, "Evaluation"): judges' evaluations, people's per-turn
ratings and blind pairwise votes between runs, in ``store``'s database (``store.evaluations``).

    store.evaluations.add([Evaluation(...), ...])       # a judge's answer, one row per criterion
    store.evaluations.for_run(run_id)                    # in the order they were made
    store.evaluations.rate_turn(run_id, 3, 8, "alice")   # a person's score; again replaces it
    store.evaluations.add_vote(Vote(...))
    store.evaluations.votes(experiment_id="x...")        # both runs in that experiment

Rows go with their run (foreign keys, ON DELETE CASCADE).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, and_, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from duet_core.errors import ConfigError, NotFound
from duet_core.models import Evaluation, new_id, utcnow
from duet_core.store.schema import evaluations, runs, turn_ratings, votes

Transaction = Callable[[], AbstractContextManager[Connection]]

Winner = Literal["a", "b", "tie"]
WINNERS: tuple[str, ...] = ("a", "b", "tie")


@dataclass(frozen=True, slots=True)
class TurnRating:
    run_id: str
    turn: int
    rater: str
    score: int
    note: str
    created_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "turn": self.turn,
            "rater": self.rater,
            "score": self.score,
            "note": self.note,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Vote:
    """Which of two runs' bot ``bot_index`` did better, with that bot's model and persona in
    each run as they were when the vote was cast. Between two Prompt Lab variants the runs
    are None and ``lab`` says what was compared (``duet_core.lab.votes``)."""

    run_a: str | None
    run_b: str | None
    bot_index: int
    winner: Winner
    model_a: str
    model_b: str
    persona_a: str
    persona_b: str
    voter: str
    created_at: datetime = field(default_factory=utcnow)
    id: str = field(default_factory=lambda: new_id("v"))
    lab: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "run_a": self.run_a,
            "run_b": self.run_b,
            "bot_index": self.bot_index,
            "winner": self.winner,
            "model_a": self.model_a,
            "model_b": self.model_b,
            "persona_a": self.persona_a,
            "persona_b": self.persona_b,
            "voter": self.voter,
            "created_at": self.created_at.isoformat(),
            **({"lab": self.lab} if self.lab is not None else {}),
        }


_EVALUATION_FIELDS = [c.key for c in evaluations.c]
# oldest first; one answer's criteria (one time) by turn, then by name
EVALUATION_ORDER = (
    evaluations.c.created_at,
    evaluations.c.turn,
    evaluations.c.judge,
    evaluations.c.criterion,
    evaluations.c.id,
)


def evaluation_from_row(row: Any) -> Evaluation:
    m = row._mapping
    return Evaluation.model_validate({k: m[k] for k in _EVALUATION_FIELDS})


def _vote(row: Any) -> Vote:
    m = row._mapping
    return Vote(**{k: m[k] for k in Vote.__dataclass_fields__})


class Evaluations:
    """Evaluations, ratings and votes in ``store``'s database."""

    def __init__(self, read: Transaction, write: Transaction):
        """``read`` and ``write`` open a transaction (the Store's, with its error wrapping)."""
        self._read, self._write = read, write

    # --- judges ------------------------------------------------------------------------

    def add(self, items: Sequence[Evaluation]) -> None:
        """Save a judge's evaluations (in one transaction); ``NotFound`` when their run is
        gone."""
        if not items:
            return
        values = [e.model_dump(include=set(_EVALUATION_FIELDS)) for e in items]
        try:
            with self._write() as conn:
                conn.execute(insert(evaluations), values)
        except IntegrityError:
            raise NotFound(
                f"No saved run with id '{items[0].run_id}': it may have been deleted."
            ) from None

    def for_run(self, run_id: str) -> list[Evaluation]:
        """The run's evaluations, oldest first."""
        return self.for_runs([run_id]).get(run_id, [])

    def for_runs(self, run_ids: Iterable[str]) -> dict[str, list[Evaluation]]:
        """Evaluations of each of these runs (runs without any are absent), oldest first."""
        ids = list(dict.fromkeys(run_ids))
        out: dict[str, list[Evaluation]] = {}
        for start in range(0, len(ids), 500):
            with self._read() as conn:
                rows = conn.execute(
                    select(evaluations)
                    .where(evaluations.c.run_id.in_(ids[start : start + 500]))
                    .order_by(*EVALUATION_ORDER)
                ).all()
            for row in rows:
                out.setdefault(row.run_id, []).append(evaluation_from_row(row))
        return out

    def mean_scores(self, run_ids: Iterable[str]) -> dict[str, dict[str, float]]:
        """Per run, each judge's (``judge`` or ``judge.criterion``) mean score: a column for
        History, Compare and an experiment's table."""
        ids = list(dict.fromkeys(run_ids))
        label = evaluations.c.judge, evaluations.c.criterion
        out: dict[str, dict[str, float]] = {}
        for start in range(0, len(ids), 500):
            with self._read() as conn:
                rows = conn.execute(
                    select(evaluations.c.run_id, *label, func.avg(evaluations.c.score))
                    .where(evaluations.c.run_id.in_(ids[start : start + 500]))
                    .group_by(evaluations.c.run_id, *label)
                ).all()
            for run_id, judge, criterion, mean in rows:
                name = f"{judge}.{criterion}" if criterion else judge
                out.setdefault(run_id, {})[name] = round(float(mean), 3)
        return out

    def cost_of_experiment(self, experiment_id: str) -> float:
        """What judging the experiment's runs has cost (known costs)."""
        with self._read() as conn:
            total = conn.execute(
                select(func.coalesce(func.sum(evaluations.c.cost_usd), 0.0))
                .join(runs, runs.c.id == evaluations.c.run_id)
                .where(runs.c.experiment_id == experiment_id)
            ).scalar_one()
        return float(total or 0.0)

    def delete_for_run(self, run_id: str, judge: str | None = None) -> int:
        """Remove the run's evaluations (by one judge only, when given); how many went."""
        cond = [evaluations.c.run_id == run_id]
        if judge is not None:
            cond.append(evaluations.c.judge == judge)
        with self._write() as conn:
            return conn.execute(delete(evaluations).where(*cond)).rowcount

    # --- people's scores ---------------------------------------------------------------

    def rate_turn(
        self, run_id: str, turn: int, score: int, rater: str, note: str = ""
    ) -> TurnRating:
        """A person's score (1-10) for one turn of a run; rating it again replaces theirs."""
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 10:
            raise ConfigError(f"A score is a whole number from 1 to 10, not {score!r}.")
        rater = (rater or "").strip()[:200] or "local"
        rating = TurnRating(run_id, turn, rater, score, (note or "").strip(), utcnow())
        key = and_(
            turn_ratings.c.run_id == run_id,
            turn_ratings.c.turn == turn,
            turn_ratings.c.rater == rater,
        )
        with self._write() as conn:
            exists = conn.execute(
                select(func.count()).select_from(runs).where(runs.c.id == run_id)
            ).scalar_one()
            if not exists:
                raise NotFound(f"No saved run with id '{run_id}'.")
            conn.execute(delete(turn_ratings).where(key))
            conn.execute(
                insert(turn_ratings),
                [
                    {
                        "run_id": run_id,
                        "turn": turn,
                        "rater": rater,
                        "score": score,
                        "note": rating.note,
                        "created_at": rating.created_at,
                    }
                ],
            )
        return rating

    def ratings_for_run(self, run_id: str) -> list[TurnRating]:
        with self._read() as conn:
            rows = conn.execute(
                select(turn_ratings)
                .where(turn_ratings.c.run_id == run_id)
                .order_by(turn_ratings.c.turn, turn_ratings.c.rater)
            ).all()
        return [TurnRating(r.run_id, r.turn, r.rater, r.score, r.note, r.created_at) for r in rows]

    def people_means(self, run_ids: Iterable[str]) -> dict[str, float]:
        """Per run, people's mean per-turn score (runs nobody rated are absent): a column
        for History and Compare."""
        ids = list(dict.fromkeys(run_ids))
        out: dict[str, float] = {}
        for start in range(0, len(ids), 500):
            with self._read() as conn:
                rows = conn.execute(
                    select(turn_ratings.c.run_id, func.avg(turn_ratings.c.score))
                    .where(turn_ratings.c.run_id.in_(ids[start : start + 500]))
                    .group_by(turn_ratings.c.run_id)
                ).all()
            out.update({run_id: round(float(mean), 3) for run_id, mean in rows})
        return out

    def paired_scores(self, experiment_id: str | None = None) -> list[tuple[str, float, float]]:
        """``(judge, judge's score, people's mean score)`` for every turn that a judge (per
        turn) and people both scored; ``judge`` is ``judge`` or ``judge.criterion``."""
        people = (
            select(
                turn_ratings.c.run_id,
                turn_ratings.c.turn,
                func.avg(turn_ratings.c.score).label("mean"),
            )
            .group_by(turn_ratings.c.run_id, turn_ratings.c.turn)
            .subquery()
        )
        stmt = (
            select(evaluations.c.judge, evaluations.c.criterion, evaluations.c.score, people.c.mean)
            .join(
                people,
                and_(people.c.run_id == evaluations.c.run_id, people.c.turn == evaluations.c.turn),
            )
            .where(evaluations.c.per == "turn")
            .order_by(*EVALUATION_ORDER)
        )
        if experiment_id is not None:
            stmt = stmt.join(runs, runs.c.id == evaluations.c.run_id).where(
                runs.c.experiment_id == experiment_id
            )
        with self._read() as conn:
            rows = conn.execute(stmt).all()
        return [
            (f"{judge}.{criterion}" if criterion else judge, float(score), float(mean))
            for judge, criterion, score, mean in rows
        ]

    # --- votes -------------------------------------------------------------------------

    def add_vote(self, vote: Vote) -> Vote:
        if vote.winner not in WINNERS:
            raise ConfigError(f"The winner is a, b or tie, not {vote.winner!r}.")
        values = {k: getattr(vote, k) for k in Vote.__dataclass_fields__}
        try:
            with self._write() as conn:
                conn.execute(insert(votes), [values])
        except IntegrityError:
            raise NotFound(
                f"No saved run with id '{vote.run_a}' or '{vote.run_b}': list the runs."
            ) from None
        return vote

    def votes(
        self,
        experiment_id: str | None = None,
        topic: str | None = None,
        voter: str | None = None,
    ) -> list[Vote]:
        """Votes, oldest first (the Lab's, without runs, too); with ``experiment_id`` (or
        ``topic``) only those whose two runs both belong to that experiment (have that
        topic)."""
        a, b = runs.alias("a"), runs.alias("b")
        stmt = (
            select(votes)
            .join(a, a.c.id == votes.c.run_a, isouter=True)
            .join(b, b.c.id == votes.c.run_b, isouter=True)
            .order_by(votes.c.created_at, votes.c.id)
        )
        if experiment_id is not None:
            stmt = stmt.where(
                a.c.experiment_id == experiment_id, b.c.experiment_id == experiment_id
            )
        if topic is not None:
            stmt = stmt.where(a.c.topic == topic, b.c.topic == topic)
        if voter is not None:
            stmt = stmt.where(votes.c.voter == voter)
        with self._read() as conn:
            return [_vote(r) for r in conn.execute(stmt).all()]

    def voted_topics(self, owner: str | None = None) -> list[str]:
        """The topics of votes whose two runs share one (the leaderboard's topic filter), by
        name; with ``owner``, only votes between two of that person's runs."""
        a, b = runs.alias("a"), runs.alias("b")
        stmt = (
            select(a.c.topic)
            .select_from(votes)
            .join(a, a.c.id == votes.c.run_a)
            .join(b, b.c.id == votes.c.run_b)
            .where(a.c.topic == b.c.topic)
            .distinct()
            .order_by(a.c.topic)
        )
        if owner is not None:
            stmt = stmt.where(a.c.owner == owner, b.c.owner == owner)
        with self._read() as conn:
            return [topic for (topic,) in conn.execute(stmt).all()]
