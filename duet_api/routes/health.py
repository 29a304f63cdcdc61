"""``GET /health`` (no auth): whether the server and its database answer, and how many runs
this process is running. Served at ``/health`` by ``serve.py`` and at ``/api/health``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from duet_api.deps import ServicesGetter
from duet_api.schemas import Health
from duet_core.errors import DuetError

router = APIRouter(tags=["health"])


def health_status(services: ServicesGetter) -> tuple[int, dict[str, Any]]:
    try:
        svc = services()
    except DuetError:
        return 503, {"status": "unavailable", "database": "unreachable", "active_runs": 0}
    active = len(svc.manager.active())
    if not svc.store.answers():
        return 503, {"status": "unavailable", "database": "unreachable", "active_runs": active}
    return 200, {"status": "ok", "database": "ok", "active_runs": active}


async def _answer(services: ServicesGetter) -> JSONResponse:
    status, body = await run_in_threadpool(health_status, services)
    return JSONResponse(body, status, headers={"Cache-Control": "no-store"})


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
async def health(request: Request) -> JSONResponse:
    """200 when the database answers, 503 (``"database": "unreachable"``) when it does not."""
    return await _answer(request.app.state.services)


def health_route(services: ServicesGetter, path: str = "/health") -> Route:
    """The same answer at the server's root (``serve.py``)."""

    async def endpoint(request: Request) -> JSONResponse:
        return await _answer(services)

    return Route(path, endpoint, methods=["GET"])
