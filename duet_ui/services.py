"""Process-wide objects shared by every browser session, and who the current viewer is."""

from __future__ import annotations

import atexit
import contextlib
from dataclasses import dataclass
from typing import NoReturn

import streamlit as st
from streamlit.errors import StreamlitAPIException

from duet_core.manager import RunManager
from duet_core.settings import Settings, load_settings
from duet_core.store import Store

MAIN_SCRIPT = "app.py"


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: Store
    manager: RunManager


@st.cache_resource(show_spinner=False)
def services() -> Services:
    """One settings object, store and run manager per server process."""
    settings = load_settings()
    store = Store(settings.database_url)
    manager = RunManager(store, settings)
    manager.recover_interrupted()
    atexit.register(manager.stop_all)
    return Services(settings, store, manager)


@dataclass(frozen=True)
class Viewer:
    """The person using this browser session."""

    username: str
    name: str
    roles: tuple[str, ...]

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


DEV_VIEWER = Viewer("dev", "Developer", ("admin",))


def _back_to_login() -> NoReturn:
    """A page script runs for someone not logged in. That happens only in Streamlit's old
    pages-folder mode, which a fresh server process is in (because of the ``pages/`` folder)
    until app.py first calls ``st.navigation``: the page then runs without app.py. Send the
    session to app.py, whose gate shows the login form; elsewhere just stop."""
    with contextlib.suppress(StreamlitAPIException):  # app.py is not a page: the usual mode
        st.switch_page(MAIN_SCRIPT)
    st.stop()


def current_viewer() -> Viewer:
    """The logged-in user (set by the login gate in app.py); the developer in dev mode."""
    if services().settings.dev_mode:
        return DEV_VIEWER
    state = st.session_state
    if state.get("authentication_status") is not True:
        _back_to_login()  # app.py shows the login form; no page content before login
    return Viewer(
        username=state.get("username") or "",
        name=state.get("name") or state.get("username") or "",
        roles=tuple(state.get("roles") or ("user",)),
    )
