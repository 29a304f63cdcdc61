"""Duet served by ``st.App``: the app (``app.py``), the HTTP API under ``/api`` (``duet_api``;
docs at ``/api/docs``), ``GET /health``, and the route that streams the turn being written to
the browser on its own connection (``duet_ui.conversation.feed``). ``make run`` starts this
file; ``streamlit run app.py`` still works (pages only, every token drawn through the page).

The pages and the API share one set of services (``duet_core.services.services``: one store,
one run manager), so a run started over HTTP is the run the conversation page shows.

On SIGTERM the open event streams stop this process's runs (``interrupted``, reason
``shutdown``) and send each its ``status`` and ``end``; the lifespan then stops any run left.
"""

import logging
from contextlib import asynccontextmanager

import anyio
import streamlit as st

from duet_api.app import api_mount
from duet_api.routes.health import health_route
from duet_core import services as core
from duet_core.errors import DuetError
from duet_ui.conversation import feed as text_feed

log = logging.getLogger("duet.serve")


def _shut_down() -> None:
    svc = core.services()
    svc.manager.shut_down()
    svc.manager.stop_all(timeout=5.0)


@asynccontextmanager
async def lifespan(app: st.App):
    try:  # open the database and recover runs now, not on the first request
        await anyio.to_thread.run_sync(core.services)
    except DuetError as e:  # the pages show the one-line reason; /health answers 503
        log.warning("Duet could not start its services: %s", e)
    try:
        yield
    finally:
        if core.built():
            await anyio.to_thread.run_sync(_shut_down)


app = st.App(
    "app.py",
    routes=[api_mount(core.services), health_route(core.services), *text_feed.routes()],
    lifespan=lifespan,
)
