"""The Lab on many conversations, its results: a row per source with the original turn beside
the result (streaming), then, once all have ended, the summary table and each row's diff and
"Save as branch".

The requests run on worker threads (``duet_core.lab.many.ManyExperiment``); a blocking
fragment (``stream_panel.pump``) draws the rows while they stream and reruns the page once
when all have ended, so the buttons are drawn outside it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from duet_core.errors import DuetError
from duet_core.lab.many import Cell, ManyExperiment
from duet_core.lab.requests import save_branch
from duet_core.lab.summary import summary_rows
from duet_ui.history.scroll import scroll_here
from duet_ui.lab.diff import show_diff
from duet_ui.lab.results import draw_variant
from duet_ui.lab.slot import Slot
from duet_ui.lab.view import variant_label
from duet_ui.shared import stream_panel
from duet_ui.shared.transcript import escape_markdown, render_markdown
from duet_ui.shell.errors import guarded
from duet_ui.shell.services import Services, Viewer

SHOWN_KEY = "_lab_many_shown"


@dataclass
class ShownMany:
    """The grid on screen and the question it answers."""

    many: ManyExperiment
    asked: tuple  # (sources, action, turn): results belong to this question only
    branches: dict[int, str] = field(default_factory=dict)
    token: str = field(default_factory=lambda: secrets.token_hex(6))


_shown = Slot[ShownMany](SHOWN_KEY, lambda shown: shown.many)
current, start, stop_current = _shown.current, _shown.start, _shown.stop_current


def show(shown: ShownMany, viewer: Viewer, svc: Services) -> None:
    """The grid (streaming), then the summary and each row's diff and actions."""
    many = shown.many
    scroll_here(f"lab-many:{shown.token}", key="lab_many_scroll")
    done = many.done  # read once: the threads may finish while this run draws
    if not done:
        _panel(shown)
        return
    with st.container(key="lab_many_summary"):
        st.markdown("**Summary**")
        st.table(summary_frame(many))
    for i, cell in enumerate(many.cells):
        slots = _row(i, cell, many)
        state = many.variant(i)
        if slots is None or state is None:
            continue
        column, *boxes = slots
        draw_variant(i, state, *boxes)
        with column:
            if state.turn is not None and cell.original is not None:
                show_diff(cell.original.content, state.turn.content, key=f"lab_many_diff_{i}")
            _actions(shown, i, cell, viewer, svc)


def summary_frame(many: ManyExperiment) -> pd.DataFrame:
    """The summary rows as a table (numbers shown as they are; empty cells blank)."""
    frame = pd.DataFrame(summary_rows(many)).set_index("source")
    return frame.astype(object).where(frame.notna(), "")


def _row(i: int, cell: Cell, many: ManyExperiment) -> tuple | None:
    """Row ``i``: the source, the original on the left, the result's column on the right
    with its thinking, text and figures slots (None when the source was not asked)."""
    with st.container(border=True, key=f"lab_many_{i}"):
        st.markdown(f"**{escape_markdown(cell.source.label)}**")
        left, right = st.columns(2)
        with left:
            if cell.original is None:
                st.caption("Original: none")
            else:
                st.caption(
                    f"Original · turn {cell.original.index + 1} · "
                    f"{escape_markdown(cell.original.bot_name)}"
                )
                with st.container(key=f"lab_many_original_{i}"):
                    render_markdown(cell.original.content)
        with right:
            if cell.request is None:
                st.warning(cell.problem or "Not asked.", icon=":material/block:")
                return None
            settings = variant_label(i, cell.request.bot).split(" · ", 1)[-1]
            st.caption(f"Result · turn {cell.request.index + 1} · {escape_markdown(settings)}")
            boxes = [st.container(key=f"lab_many_{p}_{i}") for p in ("thinking", "text", "figures")]
            return (right, *(box.empty() for box in boxes))


def _panel(shown: ShownMany) -> None:
    many = shown.many

    @st.fragment(run_every=stream_panel.KICK)
    @guarded
    def panel() -> None:
        slots = {i: _row(i, cell, many) for i, cell in enumerate(many.cells)}
        drawn: dict[int, tuple] = {}

        def draw() -> None:
            for i, found in slots.items():
                state = many.variant(i)
                if found is None or state is None:
                    continue
                mark = (len(state.thinking), len(state.text), state.finished)
                if drawn.get(i) != mark:
                    drawn[i] = mark
                    draw_variant(i, state, *found[1:])

        stream_panel.pump(source=many, apply=lambda events: None, draw=draw, done=lambda: many.done)
        if many.done and stream_panel.in_fragment_run():
            st.rerun()  # the whole page once: the summary, the diffs and the Save buttons

    panel()


def _actions(shown: ShownMany, i: int, cell: Cell, viewer: Viewer, svc: Services) -> None:
    state = shown.many.variant(i)
    branch = shown.branches.get(i)
    if branch is not None:
        st.page_link(
            "app_pages/conversation.py",
            label=f"Branch {branch} saved: open it",
            icon=":material/call_split:",
            query_params={"run": branch},
        )
        return
    usable = state is not None and state.turn is not None and state.error is None
    if st.button(
        "Save as branch",
        key=f"lab_many_save_{i}",
        icon=":material/call_split:",
        disabled=not usable,
        help="A new run: this conversation's turns before this one, then this result."
        if usable
        else "This result failed; there is nothing to save.",
    ):
        try:
            saved = save_branch(svc.store, cell.source, state.turn, owner=viewer.username)  # type: ignore[union-attr,arg-type]
        except DuetError as e:
            st.error(e.message, icon=":material/error:")
            return
        shown.branches[i] = saved.id
        st.rerun()  # the link in place of the button
