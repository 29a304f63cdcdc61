"""The FastAPI app: ``create_api(services)`` with every router, the body limits and the one
error handler. ``serve.py`` mounts it under ``/api`` beside the pages, with the process's
``duet_core.services.services``; tests pass their own services."""

from __future__ import annotations

import re

from fastapi import FastAPI
from starlette.routing import Mount

from duet_api import errors
from duet_api.deps import ServicesGetter
from duet_api.limits import BodyLimits
from duet_api.routes import batch, evals, health, lab, prompts, runs, stream, tokens

DESCRIPTION = """Duet's runs, prompt library and Prompt Lab over HTTP.

Authenticate with `Authorization: Bearer <API token>` (make one on the Account page, with
`POST /api/tokens` or `python -m duet_core tokens create USER`) or HTTP Basic with your
username and password. Every error is JSON `{"detail": ...}`.
"""


def create_api(services: ServicesGetter) -> FastAPI:
    """The API, reading the process's services through ``services`` (called per request;
    built once by it)."""
    api = FastAPI(
        title="Duet",
        version="1",
        description=DESCRIPTION,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    api.state.services = services
    api.add_middleware(BodyLimits)
    errors.install(api)
    for module in (health, runs, stream, prompts, lab, tokens, evals, batch):
        api.include_router(module.router)
    return api


class _Mount(Mount):
    """A mount whose path matches any character after its prefix: Starlette's ``{path:path}``
    is ``.*``, which stops at a newline, so ``/api/run/a%0Ab`` would fall through to the pages
    instead of getting the API's JSON 404."""

    def __init__(self, path: str, app: FastAPI):
        super().__init__(path, app=app)
        self.path_regex = re.compile(self.path_regex.pattern, re.DOTALL)


def api_mount(services: ServicesGetter, path: str = "/api") -> Mount:
    """The API mounted at ``path`` (``serve.py`` puts it in ``st.App``'s routes)."""
    return _Mount(path, create_api(services))
