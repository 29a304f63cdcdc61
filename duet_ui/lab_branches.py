"""A run's family on its pages: the run it branched from, its own branches, and a way into
the Prompt Lab (for facilitators)."""

from __future__ import annotations

import streamlit as st

from duet_core.lab_branches import branches_of
from duet_core.models import Run
from duet_ui.services import Viewer

HISTORY = "app_pages/history.py"
CONVERSATION = "app_pages/conversation.py"
LAB = "app_pages/prompt_lab.py"


def show_family(store, run: Run, viewer: Viewer, page: str = HISTORY) -> None:
    """Links to the parent run and to each branch (opened on ``page``)."""
    if run.parent_id:
        fork = f" at turn {run.fork_turn + 1}" if run.fork_turn is not None else ""
        st.page_link(
            page,
            label=f"Branch of run {run.parent_id}{fork}",
            icon=":material/subdirectory_arrow_right:",
            query_params={"run": run.parent_id},
        )
    branches = branches_of(store, run.id, owner=None if viewer.is_admin else viewer.username)
    if branches:
        with st.container(key="run_branches"):
            st.markdown(f"**Branches ({len(branches)})**")
            for b in branches:
                fork = f"from turn {b.fork_turn + 1} · " if b.fork_turn is not None else ""
                st.page_link(
                    page,
                    label=f"{b.id} · {fork}{b.turn_count} turns · {b.status} · {b.owner}"
                    f" · {b.created_at:%Y-%m-%d %H:%M}",
                    icon=":material/call_split:",
                    query_params={"run": b.id},
                )
    if viewer.is_facilitator and page != LAB:
        st.page_link(
            LAB,
            label="Open in the Prompt Lab",
            icon=":material/science:",
            query_params={"run": run.id},
        )
