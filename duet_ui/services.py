"""Process-wide objects shared by every browser session, and who the current viewer is."""

from __future__ import annotations

import atexit
from dataclasses import dataclass

import streamlit as st

from duet_core.manager import RunManager
from duet_core.settings import Settings, load_settings
from duet_core.store import Store


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


def current_viewer() -> Viewer:
    """The logged-in user (set by the login gate in app.py); the developer in dev mode."""
    if services().settings.dev_mode:
        return DEV_VIEWER
    state = st.session_state
    if state.get("authentication_status") is not True:
        st.stop()  # app.py's gate shows the login form; no page content before login
    return Viewer(
        username=state.get("username") or "",
        name=state.get("name") or state.get("username") or "",
        roles=tuple(state.get("roles") or ("user",)),
    )
