"""Who may use the Prompt Lab: facilitators and admins (docs/design.md, "Security model").

app.py hides the page from everyone else; the page checks again, so a typed URL is refused.
"""

from __future__ import annotations

from duet_core.vocabulary import FACILITATOR
from duet_ui.shell.services import Viewer, require_role

LAB_URL_PATH = "prompt_lab"


def may_use_lab(viewer: Viewer) -> bool:
    return viewer.is_facilitator  # an admin counts as a facilitator


def require_lab_access() -> Viewer:
    """The viewer, when they may use the Lab; otherwise an error and the page stops."""
    return require_role(FACILITATOR, page="The Prompt Lab")
