"""What the command line, the Experiments page and the HTTP API call: submit an experiment,
read its progress and results, pause, resume, cancel. No Streamlit, no FastAPI.

    record = submit(services.store, experiment, owner="alice")
    progress(services.store, record.id).as_json()   # batch status --json, GET /api/batch/{id}
    pause(...) / resume(...) / cancel(..., manager=services.manager)
    cell_results(services.store, record.id)         # one row per cell

With ``user``, an experiment of another person reads as missing (``NotFound``) unless
``is_admin``, as runs do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from duet_core.batch.experiment import (
    REPEAT,
    Experiment,
    ExperimentTooLarge,
    experiment_from_data,
)
from duet_core.errors import NotFound
from duet_core.run.manager import RunManager
from duet_core.store import Store
from duet_core.store.experiments import ExperimentQueue, ExperimentRecord, Progress
from duet_core.store.leases import effective_status
from duet_core.vocabulary import ExperimentStatus, RunStatus


def submit(
    store: Store,
    experiment: Experiment | dict[str, Any],
    owner: str,
    concurrency: int | None = None,
    budget_usd: float | None = None,
    max_runs: int | None = None,
) -> ExperimentRecord:
    """Queue every run of ``experiment`` (checked already, or plain data as ``POST /api/batch``
    sends: checked here, files refused). Workers start them; ``batch run`` works here.
    ``max_runs``: the server's ceiling per person (``ExperimentTooLarge`` above it)."""
    if not isinstance(experiment, Experiment):
        experiment = experiment_from_data(experiment, max_runs=max_runs)
    elif max_runs is not None and experiment.runs > max_runs:
        raise ExperimentTooLarge(
            f"The experiment has {experiment.runs:,} runs; this server lets one person submit "
            f"at most {max_runs:,} per experiment (DUET_MAX_EXPERIMENT_RUNS)."
        )
    return ExperimentQueue(store).create(experiment, owner, concurrency, budget_usd)


def get(
    store: Store, experiment_id: str, user: str | None = None, is_admin: bool = False
) -> ExperimentRecord:
    record = ExperimentQueue(store).get(experiment_id)
    if record is None or not (user is None or is_admin or record.owner == user):
        raise NotFound(f"No experiment {experiment_id}: list them to find its id.")
    return record


def progress(
    store: Store, experiment_id: str, user: str | None = None, is_admin: bool = False
) -> Progress:
    get(store, experiment_id, user, is_admin)
    return ExperimentQueue(store).progress(experiment_id)


def pause(
    store: Store, experiment_id: str, user: str | None = None, is_admin: bool = False
) -> ExperimentRecord:
    """No new run starts; the running ones finish."""
    get(store, experiment_id, user, is_admin)
    return ExperimentQueue(store).set_status(experiment_id, ExperimentStatus.PAUSED)


def resume(
    store: Store,
    experiment_id: str,
    user: str | None = None,
    is_admin: bool = False,
    budget_usd: float | None = None,
) -> ExperimentRecord:
    """Start its queued runs again (after a pause, or with a bigger ``budget_usd`` after its
    budget stopped it)."""
    get(store, experiment_id, user, is_admin)
    return ExperimentQueue(store).set_status(
        experiment_id, ExperimentStatus.ACTIVE, budget_usd=budget_usd
    )


def cancel(
    store: Store,
    experiment_id: str,
    user: str | None = None,
    is_admin: bool = False,
    manager: RunManager | None = None,
) -> ExperimentRecord:
    """Stop its queued runs now and its running ones: at once in this process (``manager``),
    within a poll interval in other workers."""
    get(store, experiment_id, user, is_admin)
    queue = ExperimentQueue(store)
    record = queue.set_status(experiment_id, ExperimentStatus.CANCELLED)
    if manager is not None:
        for run_id in queue.run_ids(experiment_id):
            live = manager.get(run_id)
            if live is not None and live.status.live:
                live.stop()
    return record


@dataclass
class CellResult:
    """One cell of the grid: its values (without the repeat) and its runs' totals."""

    values: dict[str, Any]
    runs: int = 0
    turns: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float | None = None  # mean per turn
    statuses: dict[str, int] = field(default_factory=dict)
    stop_reasons: dict[str, int] = field(default_factory=dict)
    run_ids: list[str] = field(default_factory=list)
    judge_score: float | None = None  # mean of every judge score of its runs, if judged
    judged: int = 0  # how many scores that mean is of

    def as_json(self) -> dict[str, Any]:
        return {
            "cell": self.values,
            "runs": self.runs,
            "turns": self.turns,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": round(self.cost_usd, 6),
            "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 1),
            "statuses": self.statuses,
            "stop_reasons": self.stop_reasons,
            "run_ids": self.run_ids,
            "judge_score": None if self.judge_score is None else round(self.judge_score, 2),
        }


def cell_results(
    store: Store, experiment_id: str, user: str | None = None, is_admin: bool = False
) -> list[CellResult]:
    """The results table: one row per cell in grid order (runs, turns, tokens, cost, mean
    turn latency, how the runs ended, their ids, the mean judge score where judged)."""
    get(store, experiment_id, user, is_admin)
    found, lat, judged = ExperimentQueue(store).result_rows(experiment_id)
    cells: dict[str, CellResult] = {}
    sums: dict[str, tuple[float, int]] = {}
    for r in found:
        values = {k: v for k, v in (r.experiment_cell or {}).items() if k != REPEAT}
        key = json.dumps(values, sort_keys=True)
        cell = cells.setdefault(key, CellResult(values))
        status = effective_status(RunStatus(r.status), r.lease_expires_at).value
        cell.runs += 1
        cell.turns += r.turn_count or 0
        cell.input_tokens += r.input_tokens or 0
        cell.output_tokens += r.output_tokens or 0
        cell.cost_usd += r.cost_usd or 0.0
        cell.statuses[status] = cell.statuses.get(status, 0) + 1
        if r.stop_reason:
            cell.stop_reasons[r.stop_reason] = cell.stop_reasons.get(r.stop_reason, 0) + 1
        cell.run_ids.append(r.id)
        total, n = sums.get(key, (0.0, 0))
        more = lat.get(r.id, (0.0, 0))
        sums[key] = (total + more[0], n + more[1])
        points, count = judged.get(r.id, (0.0, 0))
        if count:
            mean = cell.judge_score or 0.0
            cell.judge_score = (mean * cell.judged + points) / (cell.judged + count)
            cell.judged += count
    for key, cell in cells.items():
        total, n = sums[key]
        cell.latency_ms = total / n if n else None
    return list(cells.values())


@dataclass(frozen=True)
class RunResult:
    """One run of an experiment, as its results list shows it."""

    id: str
    index: int
    cell: dict[str, Any]  # its cell's values, with its repeat
    status: str
    stop_reason: str | None
    turns: int
    tokens: int
    cost_usd: float | None


def run_results(
    store: Store,
    experiment_id: str,
    user: str | None = None,
    is_admin: bool = False,
    limit: int = 1_000,
) -> list[RunResult]:
    """Its runs in grid order (the first ``limit``), each with where it stands."""
    get(store, experiment_id, user, is_admin)
    found = ExperimentQueue(store).run_rows(experiment_id, limit)
    return [
        RunResult(
            id=r.id,
            index=r.experiment_index,
            cell=dict(r.experiment_cell or {}),
            status=effective_status(RunStatus(r.status), r.lease_expires_at).value,
            stop_reason=r.stop_reason,
            turns=r.turn_count or 0,
            tokens=(r.input_tokens or 0) + (r.output_tokens or 0),
            cost_usd=r.cost_usd,
        )
        for r in found
    ]
