"""Duet served by ``st.App``: the app (``app.py``), the HTTP API under ``/api`` (``duet_api``;
docs at ``/api/docs``), ``GET /health``, and the route that streams the turn being written to
the browser on its own connection (``duet_ui.conversation.feed``). ``make run`` starts this
file; ``streamlit run app.py`` still works (pages only, every token drawn through the page).

The pages and the API share one set of services (``duet_core.services.services``: one store,
one run manager), so a run started over HTTP is the run the conversation page shows.
"""

from contextlib import asynccontextmanager

import anyio
import streamlit as st
from starlette.routing import Mount

from duet_api.app import create_api
from duet_api.routes.health import health_route
from duet_core.errors import DuetError
from duet_core.services import services
from duet_ui.conversation import feed as text_feed


@asynccontextmanager
async def lifespan(app: st.App):
    try:  # open the database and recover runs now, not on the first request
        await anyio.to_thread.run_sync(services)
    except DuetError:
        pass  # the pages show the one-line reason; /health answers 503
    yield


api = create_api(services)
app = st.App(
    "app.py",
    routes=[Mount("/api", app=api), health_route(services), *text_feed.routes()],
    lifespan=lifespan,
)
