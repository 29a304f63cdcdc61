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

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row, and_, case, delete, func, insert, select, update

from duet_core.errors import ConfigError, NotFound
from duet_core.models import Run, new_id, utcnow
from duet_core.store import rows
from duet_core.store.experiment_reads import (
    ExperimentReads,
    ExperimentRecord,
    Progress,
    claimable,
    judged_cost,
    record_of,
    running_now,
)
from duet_core.store.schema import experiments, runs
from duet_core.vocabulary import ExperimentStatus, RunStatus, StopReason

if TYPE_CHECKING:
    from duet_core.batch.experiment import Experiment

__all__ = ["ExperimentQueue", "ExperimentRecord", "Progress", "claimable", "running_now"]

INSERT_BATCH = 1_000  # run rows per INSERT when an experiment is submitted
EXPORT_BATCH = 100  # runs read per transaction for a dataset export
ENDED = (ExperimentStatus.CANCELLED.value, ExperimentStatus.COMPLETED.value)


class ExperimentQueue(ExperimentReads):
    """Experiments and their queued runs in ``store``'s database: the writes here, the reads
    (``get``, ``progress``, ``rows`` ...) in ``ExperimentReads``. Thread-safe (each method one
    short transaction)."""

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
        budget is spent (its runs' cost plus its judges') stops starting runs (status
        ``budget``), one with nothing left to run is ``completed``. Returns the claimed run
        ids, in grid order."""
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
        spent = float(spent) + float(conn.execute(select(judged_cost(exp.id))).scalar_one() or 0)
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
        return record_of(row)

    def delete(self, experiment_id: str) -> bool:
        """Delete the experiment and all its runs (with their turns)."""
        with self.store._write() as conn:
            conn.execute(delete(runs).where(runs.c.experiment_id == experiment_id))
            gone = conn.execute(delete(experiments).where(experiments.c.id == experiment_id))
            return gone.rowcount > 0
