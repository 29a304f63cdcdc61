"""Who may use the Prompt Lab: facilitators and admins (DESIGN.md, "Security model")."""

from __future__ import annotations

import streamlit as st

from duet_ui.services import Viewer, current_viewer

LAB_ROLES = ("facilitator", "admin")
LAB_URL_PATH = "prompt_lab"  # the page's url path (app.py hides it from everyone else)


def may_use_lab(viewer: Viewer) -> bool:
    return any(role in viewer.roles for role in LAB_ROLES)


def require_lab_access() -> Viewer:
    """The viewer, when they may use the Lab; otherwise say so and stop the page."""
    viewer = current_viewer()
    if not may_use_lab(viewer):
        st.error("Access denied: the Prompt Lab is for facilitators and admins.", icon="🔒")
        st.stop()
    return viewer
