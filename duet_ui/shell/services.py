"""Process-wide objects shared by every browser session, and who the current viewer is."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import streamlit as st

from duet_core.accounts import has_role
from duet_core.errors import DuetError
from duet_core.services import Services
from duet_core.services import built as core_built
from duet_core.services import services as core_services
from duet_core.vocabulary import ADMIN, FACILITATOR, ROLE_NAMES, USER


def services() -> Services:
    """The process's services (``duet_core.services``: shared with the HTTP API), built by the
    first page run or API call. A bad setting raises ConfigError (one line); app.py shows it."""
    if core_built():
        return core_services()
    with st.spinner("Opening the database…"):  # the first start after an upgrade can take a
        return core_services()  # minute (duet_core/store/migrate.py)


def services_or_stop() -> Services:
    """``services()``, or, when a setting or the database is wrong, its one-line message on
    the page (and once on the server's terminal) and the script stops."""
    try:
        return services()
    except DuetError as e:
        _tell_terminal_once(str(e))
        st.error(str(e), icon=":material/error:")
        st.stop()
        raise  # not reached: st.stop() raises


@st.cache_resource(show_spinner=False)
def _tell_terminal_once(message: str) -> None:
    print(f"Duet: {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Viewer:
    """The person using this browser session."""

    username: str
    name: str
    roles: tuple[str, ...]

    def has_role(self, *roles: str) -> bool:
        """Any of ``roles``; an admin also counts as a facilitator."""
        return has_role(self.roles, *roles)

    @property
    def is_admin(self) -> bool:
        return self.has_role(ADMIN)

    @property
    def is_facilitator(self) -> bool:
        """A facilitator or an admin: may use the Prompt Lab."""
        return self.has_role(FACILITATOR)


DEV_VIEWER = Viewer("dev", "Developer", (ADMIN,))
OIDC_VIEWER_KEY = "_duet_oidc_viewer"  # set by the login gate for a person of an OpenID Provider


def current_viewer() -> Viewer:
    """The logged-in user (set by the login gate in app.py); the developer in dev mode."""
    if services().settings.dev_mode:
        return DEV_VIEWER
    state = st.session_state
    signed_in = state.get(OIDC_VIEWER_KEY)
    if signed_in is not None:
        return signed_in
    if state.get("authentication_status") is not True:
        st.stop()  # app.py's gate shows the login form; no page content before login
    return Viewer(
        username=state.get("username") or "",
        name=state.get("name") or state.get("username") or "",
        roles=tuple(state.get("roles") or (USER,)),
    )


def require_role(*roles: str, page: str) -> Viewer:
    """The viewer, when they have one of ``roles``; otherwise say so and stop the page.
    ``require_role(FACILITATOR, page="The Prompt Lab")`` (admins pass too)."""
    viewer = current_viewer()
    if not viewer.has_role(*roles):
        who = " and ".join(ROLE_NAMES[r] for r in roles)
        st.error(f"Access denied: {page} is for {who}.")
        st.stop()
    return viewer
