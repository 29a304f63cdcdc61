"""Experiments in the database: the queue that workers share (docs/design.md, "Experiments").

An experiment's runs are saved ``queued`` when it is submitted. A worker claims some with one
conditional UPDATE that sets them ``running`` under its lease (the same leases live runs have,
``leases.py``), in the order of the grid:

- on PostgreSQL the UPDATE takes its rows from ``SELECT ... FOR UPDATE SKIP LOCKED``, so
  workers claiming at once never wait on nor take each other's rows; the experiment's row is
  locked first (``FOR UPDATE``) so its concurrency is counted over every worker exactly;
- on SQLite the write transaction (``BEGIN IMMEDIATE``) already makes one claim at a time.

A claimable run is ``queued``, or was left by a process that died: ``interrupted`` or live with
an expired lease. Such a run is taken up again where it stopped (its saved turns stay; the turn
being written when its process died is written again), so no run is lost and none runs in two
processes at once: a frozen process that wakes after its run was taken over loses its writes
(``LeaseLost``) and stops.

    queue = ExperimentQueue(store)
    record = queue.create(experiment, owner="alice")
    queue.claim(lease_owner, lease_seconds, limit=8)   # ids of runs now this worker's
    queue.progress(record.id)                          # queued / running / done / failed / cost
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    and_,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from duet_core.errors import ConfigError, NotFound
from duet_core.models import Run, new_id, utcnow
from duet_core.store import rows, selection
from duet_core.store.leases import LIVE_STATUSES
from duet_core.store.schema import experiments, runs, turns
from duet_core.vocabulary import ExperimentStatus, RunStatus, StopReason

if TYPE_CHECKING:
    from duet_core.batch.experiment import Experiment
    from duet_core.store.store import Store

INSERT_BATCH = 1_000  # run rows per INSERT when an experiment is submitted
EXPORT_BATCH = 100  # runs read per transaction for a dataset export
ENDED = (ExperimentStatus.CANCELLED.value, ExperimentStatus.COMPLETED.value)


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
    those a person stopped or cancelled. ``eta_seconds``: at the pace so far."""

    id: str
    name: str
    status: ExperimentStatus
    runs: int
    queued: int
    running: int
    done: int
    failed: int
    stopped: int
    cost_usd: float
    budget_usd: float | None
    unpriced_turns: int
    started_at: datetime | None
    finished_at: datetime | None
    eta_seconds: float | None

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
        }


def _record(row: Any) -> ExperimentRecord:
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


def claimable(now: datetime) -> ColumnElement[bool]:
    """Waiting for a worker: queued, or left by a process that died."""
    lease = runs.c.lease_expires_at
    return or_(
        runs.c.status.in_([RunStatus.QUEUED.value, RunStatus.INTERRUPTED.value]),
        and_(_live(), lease.is_not(None), lease < now),
    )


class ExperimentQueue:
    """Experiments and their queued runs in ``store``'s database. Thread-safe (each method one
    short transaction)."""

    def __init__(self, store: Store):
        self.store = store

    # --- writing -------------------------------------------------------------------------

    def create(
        self,
        experiment: Experiment,
        owner: str,
        concurrency: int | None = None,
        budget_usd: float | None = None,
    ) -> ExperimentRecord:
        """Save the experiment and every run of its grid, ``queued``, in one transaction."""
        now = utcnow()
        spec = experiment.spec.model_copy(
            update={
                k: v
                for k, v in (("concurrency", concurrency), ("budget_usd", budget_usd))
                if v is not None
            }
        )
        exp_id = new_id("x")
        values = {
            "id": exp_id,
            "name": rows.stored_text(spec.name),
            "owner": owner,
            "status": ExperimentStatus.ACTIVE.value,
            "spec": rows.stored_json(spec.model_dump(mode="json")),
            "concurrency": spec.concurrency,
            "budget_usd": spec.budget_usd,
            "run_count": experiment.runs,
            "created_at": now,
            "updated_at": now,
            "started_at": None,
            "finished_at": None,
        }
        with self.store._write() as conn:
            conn.execute(insert(experiments), [values])
            batch: list[dict[str, Any]] = []
            for cell in experiment.cells:
                run = Run(owner=owner, config=cell.config, status=RunStatus.QUEUED, created_at=now)
                row = rows.run_values(run)
                row.update(
                    experiment_id=exp_id,
                    experiment_index=cell.index,
                    experiment_cell=rows.stored_json(cell.values),
                )
                batch.append(row)
                if len(batch) >= INSERT_BATCH:
                    conn.execute(insert(runs), batch)
                    batch = []
            if batch:
                conn.execute(insert(runs), batch)
        return ExperimentRecord(**{**values, "status": ExperimentStatus.ACTIVE})

    def claim(
        self,
        lease_owner: str,
        lease_seconds: float,
        limit: int,
        experiment_id: str | None = None,
    ) -> list[str]:
        """Take up to ``limit`` claimable runs (of one experiment, or of any active one, oldest
        experiment first) for ``lease_owner``: they become ``running`` under its lease. Each
        experiment's concurrency counts its runs running in every process; an experiment whose
        budget is spent stops starting runs (status ``budget``), one with nothing left to run
        is ``completed``. Returns the claimed run ids, in grid order."""
        claimed: list[str] = []
        with self.store._write() as conn:
            now = utcnow()
            stmt = select(experiments).where(experiments.c.status == ExperimentStatus.ACTIVE.value)
            if experiment_id is not None:
                stmt = stmt.where(experiments.c.id == experiment_id)
            active = conn.execute(
                stmt.order_by(experiments.c.created_at, experiments.c.id).with_for_update()
            ).all()
            for exp in active:
                if len(claimed) >= limit:
                    break
                claimed += self._claim_from(
                    conn, exp, now, lease_owner, lease_seconds, limit - len(claimed)
                )
        return claimed

    def _claim_from(
        self,
        conn: Connection,
        exp: Row[Any],
        now: datetime,
        lease_owner: str,
        lease_seconds: float,
        limit: int,
    ) -> list[str]:
        mine = runs.c.experiment_id == exp.id
        running, waiting, spent = conn.execute(
            select(
                func.coalesce(func.sum(case((running_now(now), 1), else_=0)), 0),
                func.coalesce(func.sum(case((claimable(now), 1), else_=0)), 0),
                func.coalesce(func.sum(runs.c.cost_usd), 0.0),
            ).where(mine)
        ).one()
        ended = None
        if exp.budget_usd is not None and spent >= exp.budget_usd and waiting:
            ended = ExperimentStatus.BUDGET
        elif not waiting and not running:
            ended = ExperimentStatus.COMPLETED
        if ended is not None:
            conn.execute(
                update(experiments)
                .where(experiments.c.id == exp.id)
                .values(
                    status=ended.value,
                    updated_at=now,
                    finished_at=now if ended is ExperimentStatus.COMPLETED else None,
                )
            )
            return []
        room = min(limit, exp.concurrency - int(running), int(waiting))
        if room <= 0:
            return []
        ready = and_(mine, claimable(now))
        # the rows are picked once, in a CTE: PostgreSQL may run an ``IN (SELECT ... LIMIT)``
        # subquery again for each row it updates, taking more rows than the limit
        chosen = (
            select(runs.c.id)
            .where(ready)
            .order_by(runs.c.experiment_index)
            .limit(room)
            .with_for_update(skip_locked=True)
            .cte("chosen")
        )
        ids = list(
            conn.execute(
                update(runs)
                .where(runs.c.id == chosen.c.id, ready)
                .values(
                    status=RunStatus.RUNNING.value,
                    stop_reason=None,
                    error=None,
                    finished_at=None,
                    updated_at=now,
                    lease_owner=lease_owner,
                    lease_expires_at=now + timedelta(seconds=lease_seconds),
                )
                .returning(runs.c.id, runs.c.experiment_index)
            ).all()
        )
        if ids and exp.started_at is None:
            conn.execute(
                update(experiments).where(experiments.c.id == exp.id).values(started_at=now)
            )
        return [r.id for r in sorted(ids, key=lambda r: r.experiment_index)]

    def set_status(
        self, experiment_id: str, status: ExperimentStatus, budget_usd: float | None = None
    ) -> ExperimentRecord:
        """Pause, resume (``ACTIVE``; with ``budget_usd``, a new budget) or cancel. Cancelling
        stops every run that has not started (``stopped``, reason ``user``); runs that are
        running stop in their worker within its poll interval. An ended experiment (completed,
        cancelled) cannot change: ``ConfigError``."""
        now = utcnow()
        with self.store._write() as conn:
            row = conn.execute(
                select(experiments).where(experiments.c.id == experiment_id).with_for_update()
            ).one_or_none()
            if row is None:
                raise NotFound(f"No experiment {experiment_id}.")
            if row.status in ENDED:
                raise ConfigError(f"Experiment {experiment_id} has ended ({row.status}).")
            values: dict[str, Any] = {"status": status.value, "updated_at": now}
            if budget_usd is not None:
                values["budget_usd"] = budget_usd
            if status is ExperimentStatus.CANCELLED:
                values["finished_at"] = now
                conn.execute(
                    update(runs)
                    .where(runs.c.experiment_id == experiment_id, claimable(now))
                    .values(
                        status=RunStatus.STOPPED.value,
                        stop_reason=StopReason.USER.value,
                        finished_at=now,
                        updated_at=now,
                        lease_expires_at=None,
                    )
                )
            conn.execute(
                update(experiments).where(experiments.c.id == experiment_id).values(**values)
            )
            row = conn.execute(select(experiments).where(experiments.c.id == experiment_id)).one()
        return _record(row)

    def delete(self, experiment_id: str) -> bool:
        """Delete the experiment and all its runs (with their turns)."""
        with self.store._write() as conn:
            conn.execute(delete(runs).where(runs.c.experiment_id == experiment_id))
            gone = conn.execute(delete(experiments).where(experiments.c.id == experiment_id))
            return gone.rowcount > 0

    # --- reading -------------------------------------------------------------------------

    def get(self, experiment_id: str) -> ExperimentRecord | None:
        with self.store._read() as conn:
            row = conn.execute(
                select(experiments).where(experiments.c.id == experiment_id)
            ).one_or_none()
        return None if row is None else _record(row)

    def list(self, owner: str | None = None, limit: int = 100) -> list[ExperimentRecord]:
        """Newest first."""
        stmt = select(experiments)
        if owner is not None:
            stmt = stmt.where(experiments.c.owner == owner)
        stmt = stmt.order_by(experiments.c.created_at.desc(), experiments.c.id.desc()).limit(limit)
        with self.store._read() as conn:
            return [_record(r) for r in conn.execute(stmt).all()]

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
            cost_usd=cost,
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
