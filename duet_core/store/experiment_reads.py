"""Reading experiments: their records, where their runs stand (the progress that ``batch
status``, the Experiments page and ``GET /api/batch/{id}`` show) and their runs' rows for the
dataset exports. ``experiments.py`` holds the queue's writes (submit, claim, pause, cancel);
both share the predicates here that say whether a run is running or waiting for a worker.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Row, and_, case, func, or_, select

from duet_core.errors import NotFound
from duet_core.models import utcnow
from duet_core.store import selection
from duet_core.store.leases import LIVE_STATUSES
from duet_core.store.schema import evaluations, experiments, runs, turns
from duet_core.vocabulary import ExperimentStatus, RunStatus

if TYPE_CHECKING:
    from duet_core.store.store import Store

EXPORT_BATCH = 100  # runs read per transaction for a dataset export


@dataclass(frozen=True)
class ExperimentRecord:
    id: str
    name: str
    owner: str
    status: ExperimentStatus
    spec: dict[str, Any]
    concurrency: int
    budget_usd: float | None
    run_count: int
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True)
class Progress:
    """Where an experiment stands. ``queued`` counts runs waiting for a worker (and runs of a
        process that died, waiting to be taken up again); ``running`` the runs a live process is
        running; ``done`` the completed ones, ``failed`` those that ended in an error, ``stopped``
        those a person stopped or cancelled. ``cost_usd`` counts the runs and their judges (what
    its budget counts). ``eta_seconds``: at the pace so far."""

    id: str
    name: str
    status: ExperimentStatus
    runs: int
    queued: int
    running: int
    done: int
    failed: int
    stopped: int
    cost_usd: float  # the runs' and their judges'
    budget_usd: float | None
    unpriced_turns: int
    started_at: datetime | None
    finished_at: datetime | None
    eta_seconds: float | None
    judge_cost_usd: float = 0.0  # of cost_usd, what judging its runs cost

    @property
    def finished(self) -> int:
        return self.done + self.failed + self.stopped

    def as_json(self) -> dict[str, Any]:
        """``batch status --json`` and ``GET /api/batch/{id}``."""
        return {
            "id": self.id,
            "name": self.name,
            "runs": self.runs,
            "queued": self.queued,
            "running": self.running,
            "done": self.done,
            "failed": self.failed,
            "cost_usd": round(self.cost_usd, 6),
            "stopped": self.stopped,
            "status": self.status.value,
            "budget_usd": self.budget_usd,
            "unpriced_turns": self.unpriced_turns,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "eta_seconds": None if self.eta_seconds is None else round(self.eta_seconds, 1),
            "judge_cost_usd": round(self.judge_cost_usd, 6),
        }


def record_of(row: Any) -> ExperimentRecord:
    return ExperimentRecord(
        id=row.id,
        name=row.name,
        owner=row.owner,
        status=ExperimentStatus(row.status),
        spec=row.spec,
        concurrency=row.concurrency,
        budget_usd=row.budget_usd,
        run_count=row.run_count,
        created_at=row.created_at,
        updated_at=row.updated_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def _live() -> ColumnElement[bool]:
    return runs.c.status.in_(LIVE_STATUSES)


def running_now(now: datetime) -> ColumnElement[bool]:
    """A live run whose process holds its lease."""
    lease = runs.c.lease_expires_at
    return and_(_live(), or_(lease.is_(None), lease >= now))


def judged_cost(experiment_id: Any) -> Any:
    """What judging the experiment's runs has cost so far (a scalar subquery; known costs):
    counted in its budget beside its runs' own cost."""
    return (
        select(func.coalesce(func.sum(evaluations.c.cost_usd), 0.0))
        .join(runs, runs.c.id == evaluations.c.run_id)
        .where(runs.c.experiment_id == experiment_id)
        .scalar_subquery()
    )


def claimable(now: datetime) -> ColumnElement[bool]:
    """Waiting for a worker: queued, or left by a process that died."""
    lease = runs.c.lease_expires_at
    return or_(
        runs.c.status.in_([RunStatus.QUEUED.value, RunStatus.INTERRUPTED.value]),
        and_(_live(), lease.is_not(None), lease < now),
    )


class ExperimentReads:
    """Read-only views of experiments in ``store``'s database (each method one short
    transaction)."""

    def __init__(self, store: Store):
        self.store = store

    def get(self, experiment_id: str) -> ExperimentRecord | None:
        with self.store._read() as conn:
            row = conn.execute(
                select(experiments).where(experiments.c.id == experiment_id)
            ).one_or_none()
        return None if row is None else record_of(row)

    def list(self, owner: str | None = None, limit: int = 100) -> list[ExperimentRecord]:
        """Newest first."""
        stmt = select(experiments)
        if owner is not None:
            stmt = stmt.where(experiments.c.owner == owner)
        stmt = stmt.order_by(experiments.c.created_at.desc(), experiments.c.id.desc()).limit(limit)
        with self.store._read() as conn:
            return [record_of(r) for r in conn.execute(stmt).all()]

    def statuses(self, experiment_ids: Iterable[str]) -> dict[str, ExperimentStatus]:
        ids = sorted(set(experiment_ids))
        if not ids:
            return {}
        with self.store._read() as conn:
            found = conn.execute(
                select(experiments.c.id, experiments.c.status).where(experiments.c.id.in_(ids))
            ).all()
        return {r.id: ExperimentStatus(r.status) for r in found}

    def pending(self, experiment_id: str | None = None) -> bool:
        """Whether an active experiment (this one, or any) has a run waiting or running."""
        now = utcnow()
        stmt = (
            select(runs.c.id)
            .join(experiments, experiments.c.id == runs.c.experiment_id)
            .where(
                experiments.c.status == ExperimentStatus.ACTIVE.value,
                or_(claimable(now), running_now(now)),
            )
            .limit(1)
        )
        if experiment_id is not None:
            stmt = stmt.where(runs.c.experiment_id == experiment_id)
        with self.store._read() as conn:
            return conn.execute(stmt).first() is not None

    def progress(self, experiment_id: str) -> Progress:
        """Counts by where each run stands, cost so far, and time left at the pace so far."""
        now = utcnow()
        with self.store._read() as conn:
            exp = conn.execute(
                select(experiments).where(experiments.c.id == experiment_id)
            ).one_or_none()
            if exp is None:
                raise NotFound(f"No experiment {experiment_id}.")
            stand = case(
                (running_now(now), "running"),
                (claimable(now), "queued"),
                else_=runs.c.status,
            ).label("stand")
            judges = float(conn.execute(select(judged_cost(experiment_id))).scalar_one() or 0.0)
            counts = conn.execute(
                select(
                    stand,
                    func.count(),
                    func.coalesce(func.sum(runs.c.cost_usd), 0.0),
                    func.coalesce(func.sum(runs.c.unpriced_turns), 0),
                )
                .where(runs.c.experiment_id == experiment_id)
                .group_by(stand)
            ).all()
        by: dict[str, int] = {}
        cost, unpriced = 0.0, 0
        for where, n, c, u in counts:
            by[where] = by.get(where, 0) + n
            cost += float(c)
            unpriced += int(u)
        done, failed = by.get(RunStatus.COMPLETED.value, 0), by.get(RunStatus.ERROR.value, 0)
        stopped = by.get(RunStatus.STOPPED.value, 0)
        queued, running = by.get("queued", 0), by.get("running", 0)
        finished = done + failed + stopped
        eta = None
        if exp.started_at is not None and finished and (queued or running):
            elapsed = ((exp.finished_at or now) - exp.started_at).total_seconds()
            eta = elapsed / finished * (queued + running)
        return Progress(
            id=exp.id,
            name=exp.name,
            status=ExperimentStatus(exp.status),
            runs=exp.run_count,
            queued=queued,
            running=running,
            done=done,
            failed=failed,
            stopped=stopped,
            cost_usd=cost + judges,
            judge_cost_usd=judges,
            budget_usd=exp.budget_usd,
            unpriced_turns=unpriced,
            started_at=exp.started_at,
            finished_at=exp.finished_at,
            eta_seconds=eta,
        )

    def run_ids(self, experiment_id: str) -> list[str]:
        """Its runs' ids in grid order."""
        with self.store._read() as conn:
            return list(
                conn.execute(
                    select(runs.c.id)
                    .where(runs.c.experiment_id == experiment_id)
                    .order_by(runs.c.experiment_index)
                ).scalars()
            )

    _RESULT_COLUMNS = (
        runs.c.id,
        runs.c.experiment_index,
        runs.c.experiment_cell,
        runs.c.status,
        runs.c.stop_reason,
        runs.c.turn_count,
        runs.c.input_tokens,
        runs.c.output_tokens,
        runs.c.cost_usd,
        runs.c.lease_expires_at,
    )

    def run_rows(self, experiment_id: str, limit: int) -> list[Row[Any]]:
        """Its runs' rows for a results list, in grid order (the first ``limit``)."""
        with self.store._read() as conn:
            return conn.execute(
                select(*self._RESULT_COLUMNS)
                .where(runs.c.experiment_id == experiment_id)
                .order_by(runs.c.experiment_index)
                .limit(limit)
            ).all()

    def result_rows(
        self, experiment_id: str
    ) -> tuple[list[Row[Any]], dict[str, tuple[float, int]], dict[str, tuple[float, int]]]:
        """For the results per cell, in one read: its runs' rows in grid order; per run the
        sum and count of its turns' latencies; per run the sum and count of its judge scores."""
        latency = (
            select(turns.c.run_id, func.sum(turns.c.latency_ms), func.count(turns.c.latency_ms))
            .join(runs, runs.c.id == turns.c.run_id)
            .where(runs.c.experiment_id == experiment_id)
            .group_by(turns.c.run_id)
        )
        scores = (
            select(evaluations.c.run_id, func.sum(evaluations.c.score), func.count())
            .join(runs, runs.c.id == evaluations.c.run_id)
            .where(runs.c.experiment_id == experiment_id)
            .group_by(evaluations.c.run_id)
        )
        with self.store._read() as conn:
            lat = {r[0]: (r[1] or 0.0, r[2] or 0) for r in conn.execute(latency).all()}
            judged = {r[0]: (float(r[1] or 0), int(r[2])) for r in conn.execute(scores).all()}
            found = conn.execute(
                select(*self._RESULT_COLUMNS)
                .where(runs.c.experiment_id == experiment_id)
                .order_by(runs.c.experiment_index)
            ).all()
        return found, lat, judged

    def rows(
        self, experiment_id: str, *, with_json: bool = True
    ) -> Iterator[tuple[Row[Any], list[Row[Any]]]]:
        """Every run of the experiment, its row with its turns' rows in order, in grid order,
        ``EXPORT_BATCH`` runs per read (memory bounded by the batch). Turn rows carry
        ``temperature``; ``with_json=False`` leaves out their config, prompt and
        request_messages."""
        temperature = turns.c.config["temperature"].as_float().label("temperature")
        skip = () if with_json else ("config", "prompt", "request_messages")
        turn_columns = [c for c in turns.c if c.key not in skip] + [temperature]
        after = -1
        while True:
            stmt = (
                select(runs)
                .where(runs.c.experiment_id == experiment_id, runs.c.experiment_index > after)
                .order_by(runs.c.experiment_index)
                .limit(EXPORT_BATCH)
            )
            with self.store._read() as conn:
                batch = conn.execute(stmt).all()
                by_run = selection.turns_of(conn, [r.id for r in batch], turn_columns)
            for r in batch:
                yield r, by_run.get(r.id, [])
            if len(batch) < EXPORT_BATCH:
                return
            after = batch[-1].experiment_index
