"""Prompt Lab variants streaming side by side, then "Save as branch" under each.

The variants run on worker threads (``duet_core.lab.requests.Experiment``) that never touch
Streamlit; a blocking fragment (``duet_ui.shared.stream_panel.pump``) waits on the
experiment's event queue and redraws each column's thinking, text and figures as they arrive.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from duet_core.errors import DuetError
from duet_core.lab.requests import Experiment, VariantState, save_branch
from duet_core.lab.sources import LabSource
from duet_ui.shared import stream_panel
from duet_ui.shared.transcript import escape_markdown, render_error, render_markdown, turn_caption
from duet_ui.shell.errors import guarded
from duet_ui.shell.services import Services, Viewer

SHOWN_KEY = "_lab_shown"
CURSOR = " ▌"


@dataclass
class Shown:
    """The experiment on screen, what it was run on, and each variant's heading."""

    experiment: Experiment
    source: LabSource
    asked: tuple  # (source, action, turn): results belong to this question only
    labels: list[str]
    branches: dict[int, str] = field(default_factory=dict)


def current(asked: tuple) -> Shown | None:
    shown: Shown | None = st.session_state.get(SHOWN_KEY)
    return shown if shown is not None and shown.asked == asked else None


def start(shown: Shown) -> None:
    """Show ``shown`` from now on, stopping the session's previous experiment if running."""
    old: Shown | None = st.session_state.get(SHOWN_KEY)
    if old is not None:
        old.experiment.stop()
    st.session_state[SHOWN_KEY] = shown
    shown.experiment.start()


def stop_current() -> None:
    shown: Shown | None = st.session_state.get(SHOWN_KEY)
    if shown is not None:
        shown.experiment.stop()


def show(shown: Shown, viewer: Viewer, svc: Services) -> None:
    """The variants side by side (streaming until each finishes), then their actions."""
    experiment = shown.experiment
    done = experiment.done  # read once: the variants' threads may finish while this run draws
    _variants_panel(shown, streaming=not done)
    if not done:
        return  # the fragment streams on its own and reruns the page when all are done
    for v, column in enumerate(st.columns(len(experiment.variants))):
        state = experiment.variants[v]
        with column:
            _actions(shown, v, state, viewer, svc)


def _variants_panel(shown: Shown, streaming: bool) -> None:
    """A fragment: drawn once by the full run; while variants stream it runs on its own
    (``run_every``) and blocks on the experiment's queue, then reruns the page once (the
    Save buttons appear). ``streaming``: the page was drawn while they streamed; the fragment
    runs then even if they all finished since, so the page is always drawn again, done."""
    experiment = shown.experiment

    @st.fragment(run_every=stream_panel.KICK if streaming else None)
    @guarded
    def panel() -> None:
        slots = []
        for v, column in enumerate(st.columns(len(experiment.variants))):
            with column, st.container(border=True, key=f"lab_variant_{v}"):
                st.markdown(f"**{escape_markdown(shown.labels[v])}**")
                # keyed boxes made once per run (a key is unique in a run); slots are redrawn
                boxes = [st.container(key=f"lab_{p}_{v}") for p in ("thinking", "text", "figures")]
                slots.append(tuple(box.empty() for box in boxes))
        drawn: list[tuple | None] = [None] * len(slots)

        def draw() -> None:
            for v, (thinking_slot, text_slot, figures_slot) in enumerate(slots):
                state = experiment.variants[v]
                mark = (len(state.thinking), len(state.text), state.finished)
                if drawn[v] != mark:
                    drawn[v] = mark
                    _draw_variant(v, state, thinking_slot, text_slot, figures_slot)

        stream_panel.pump(
            source=experiment, apply=lambda events: None, draw=draw, done=lambda: experiment.done
        )
        if experiment.done and stream_panel.in_fragment_run():
            st.rerun()  # the whole page once: the Save buttons under each variant

    panel()


def _draw_variant(v: int, state: VariantState, thinking_slot, text_slot, figures_slot) -> None:
    thinking = "".join(state.thinking)
    if thinking:
        with (
            thinking_slot.container(),
            st.expander("Thinking", expanded=True),
            st.container(height=180, border=False, autoscroll=True),
        ):
            render_markdown(thinking + ("" if state.text or state.finished else CURSOR))
    text = "".join(state.text)
    with text_slot.container():
        if text:
            render_markdown(text + ("" if state.finished else CURSOR))
        elif state.finished:
            st.caption("(no reply)")
        else:
            st.caption("Thinking…" if thinking else "Waiting for the first token…")
    if state.finished:
        with figures_slot.container():
            if state.turn is not None:
                st.caption(escape_markdown(turn_caption(state.turn)))
            if state.error:
                render_error(state.error, icon="⚠️")


def _actions(shown: Shown, v: int, state: VariantState, viewer: Viewer, svc: Services) -> None:
    branch = shown.branches.get(v)
    if branch is not None:
        st.page_link(
            "app_pages/conversation.py",
            label=f"Branch {branch} saved: open it",
            icon=":material/call_split:",
            query_params={"run": branch},
        )
        return
    usable = state.turn is not None and state.error is None
    if st.button(
        "Save as branch",
        key=f"lab_save_{v}",
        icon=":material/call_split:",
        disabled=not usable,
        help="A new run: the turns before this one, then this variant. It opens on the "
        "Conversation page, where Continue carries it on."
        if usable
        else "This variant failed; there is nothing to save.",
    ):
        try:
            saved = save_branch(svc.store, shown.source, state.turn, owner=viewer.username)
        except DuetError as e:
            st.error(e.message, icon="⚠️")
            return
        shown.branches[v] = saved.id
        st.switch_page("app_pages/conversation.py", query_params={"run": saved.id})
