"""A run's family on its pages: the run it branched from, its own branches, and a way into
the Prompt Lab (for facilitators)."""

from __future__ import annotations

import streamlit as st

from duet_core.lab.branches import branches_of
from duet_core.models import Run
from duet_ui.shell.services import Viewer

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


def nest_branches(store, frame, owner: str | None):
    """The History table with each branch right under its parent (when both are on the page),
    its topic marked ``↳``, and a ``branches`` column; unchanged when no run on the page is a
    branch or has one."""
    from duet_core.lab.branches import families, nest

    ids = list(frame["run"])
    found = families(store, ids, owner)
    if not found:
        return frame
    order = nest(ids, {i: f.parent_id for i, f in found.items()})
    frame = frame.set_index("run", drop=False).loc[order].reset_index(drop=True)
    present = set(ids)

    def label(run_id: str) -> str:
        f = found.get(run_id)
        if f is None:
            return ""
        parts = []
        if f.parent_id:
            turn = f" at turn {f.fork_turn + 1}" if f.fork_turn is not None else ""
            parts.append(f"↳ of {f.parent_id}{turn}")
        if f.branches:
            parts.append(f"{f.branches} branch{'es' if f.branches > 1 else ''}")
        return " · ".join(parts)

    frame["branches"] = [label(i) for i in frame["run"]]
    nested = [bool(found.get(i) and found[i].parent_id in present) for i in frame["run"]]
    frame["topic"] = [("↳ " + t) if n else t for t, n in zip(frame["topic"], nested, strict=True)]
    return frame
