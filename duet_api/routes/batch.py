"""Experiments over HTTP: submit one (the experiment file's schema as JSON), read where it
stands and its results per cell, pause, resume, cancel. The same core functions as ``python -m
duet_core batch`` and the Experiments page (``duet_core.batch.control``); the server's own
worker (``duet_core.batch.app_worker``) runs the queued runs. Another person's experiment
reads as missing (404), as runs do."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path

from duet_api.deps import CallerDep, ServicesDep
from duet_api.schemas import (
    AUTH_ERRORS,
    BatchCreated,
    BatchResume,
    BatchStatus,
    CellOut,
    EstimateOut,
    errors,
)
from duet_core.batch import control
from duet_core.batch.app_worker import ensure_worker
from duet_core.batch.estimate import estimate
from duet_core.batch.experiment import ExperimentSpec, experiment_from_data

router = APIRouter(tags=["experiments"])
BatchId = Annotated[str, Path(min_length=1, max_length=64)]


@router.post(
    "/batch", status_code=201, response_model=BatchCreated, responses=errors(*AUTH_ERRORS, 422)
)
def submit_batch(body: ExperimentSpec, services: ServicesDep, caller: CallerDep) -> BatchCreated:
    """Queue every run of the experiment (``run`` and ``topics`` inline: ``base`` and
    ``topics_file`` name files, refused here). 422 for a bad experiment, or one with more
    runs than ``DUET_MAX_EXPERIMENT_RUNS``."""
    experiment = experiment_from_data(
        body.model_dump(mode="json", exclude_unset=True),
        max_runs=services.settings.max_experiment_runs,
    )
    record = control.submit(services.store, experiment, caller.username)
    ensure_worker(services)
    est = estimate(experiment, services.prices, services.settings.max_turns)
    return BatchCreated(id=record.id, runs=record.run_count, estimate=EstimateOut(**est.as_json()))


@router.get("/batch/{batch_id}", response_model=BatchStatus, responses=errors(*AUTH_ERRORS, 404))
def batch_status(batch_id: BatchId, services: ServicesDep, caller: CallerDep) -> BatchStatus:
    """Queued, running, done, failed and stopped runs, cost so far, time left."""
    return _status(services, caller, batch_id)


@router.get(
    "/batch/{batch_id}/results", response_model=list[CellOut], responses=errors(*AUTH_ERRORS, 404)
)
def batch_results(batch_id: BatchId, services: ServicesDep, caller: CallerDep) -> list[CellOut]:
    """One row per cell of the grid, in grid order."""
    cells = control.cell_results(services.store, batch_id, caller.username, caller.is_admin)
    return [CellOut(**c.as_json()) for c in cells]


def _status(services, caller, batch_id: str) -> BatchStatus:
    found = control.progress(services.store, batch_id, caller.username, caller.is_admin)
    return BatchStatus(**found.as_json())


@router.post(
    "/batch/{batch_id}/pause",
    response_model=BatchStatus,
    responses=errors(*AUTH_ERRORS, 404, 422),
)
def pause_batch(batch_id: BatchId, services: ServicesDep, caller: CallerDep) -> BatchStatus:
    """No new run starts; the running ones finish. 422 once it has ended."""
    control.pause(services.store, batch_id, caller.username, caller.is_admin)
    return _status(services, caller, batch_id)


@router.post(
    "/batch/{batch_id}/resume",
    response_model=BatchStatus,
    responses=errors(*AUTH_ERRORS, 404, 422),
)
def resume_batch(
    batch_id: BatchId,
    services: ServicesDep,
    caller: CallerDep,
    body: Annotated[BatchResume | None, Body()] = None,
) -> BatchStatus:
    """Start its queued runs again (with ``budget_usd``: a new budget)."""
    budget = body.budget_usd if body is not None else None
    control.resume(services.store, batch_id, caller.username, caller.is_admin, budget_usd=budget)
    ensure_worker(services)
    return _status(services, caller, batch_id)


@router.post(
    "/batch/{batch_id}/cancel",
    response_model=BatchStatus,
    responses=errors(*AUTH_ERRORS, 404, 422),
)
def cancel_batch(batch_id: BatchId, services: ServicesDep, caller: CallerDep) -> BatchStatus:
    """Stop its queued runs now and its running ones within a second."""
    control.cancel(
        services.store, batch_id, caller.username, caller.is_admin, manager=services.manager
    )
    return _status(services, caller, batch_id)
