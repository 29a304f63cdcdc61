"""Prompt Lab variants streaming side by side, each in its card; once they end, each card
also holds its diff against the original turn and its own "Save as branch".

The variants run on worker threads (``duet_core.lab.requests.Experiment``) that never touch
Streamlit; a blocking fragment (``duet_ui.shared.stream_panel.pump``) waits on the
experiment's event queue and redraws each card's thinking, text and figures as they arrive.
When all have ended the page is drawn again without the fragment, so the cards can hold
buttons (widgets do not belong in a blocking fragment). The results are scrolled into view
once per experiment (they sit below the forms, far from the Regenerate button on a phone).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from duet_core.errors import DuetError
from duet_core.lab.requests import Experiment, VariantState, save_branch
from duet_core.lab.sources import LabSource
from duet_core.models import Turn
from duet_ui.history.scroll import scroll_here
from duet_ui.lab import evaluate
from duet_ui.lab.diff import show_diff
from duet_ui.lab.slot import Slot
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
    original: Turn | None = None  # the turn regenerated (None for continue): the diffs' base
    branches: dict[int, str] = field(default_factory=dict)
    token: str = field(default_factory=lambda: secrets.token_hex(6))  # scrolled to once
    scores: dict[int, Any] = field(default_factory=dict)  # variant -> judge Outcome | None
    blind: evaluate.Blind | None = None  # a blind vote between two variants


_shown = Slot[Shown](SHOWN_KEY, lambda shown: shown.experiment)
current, start, stop_current = _shown.current, _shown.start, _shown.stop_current


def show(shown: Shown, viewer: Viewer, svc: Services, keys: dict[str, str]) -> None:
    """The variants side by side, each in its card (streaming until each finishes), then
    with its diff, judge's score and actions, and under them the judge and the blind vote;
    scrolled into view the first time they are drawn. ``keys``: pasted API keys."""
    experiment = shown.experiment
    scroll_here(f"lab:{shown.token}", key="lab_results_scroll")
    done = experiment.done  # read once: the variants' threads may finish while this run draws
    if not done:
        _variants_panel(shown)  # the fragment streams and reruns the page when all are done
        return
    for v, column in enumerate(st.columns(len(experiment.variants))):
        state = experiment.variants[v]
        with column, st.container(border=True, key=f"lab_variant_{v}"):
            slots = _card(shown, v)
            draw_variant(v, state, *slots)
            if shown.original is not None and state.turn is not None:
                show_diff(shown.original.content, state.turn.content, key=f"lab_diff_{v}")
            evaluate.draw_score(shown.scores.get(v), key=f"lab_score_{v}")
            _actions(shown, v, state, viewer, svc)
    evaluate.judge_panel(shown, svc, viewer, keys)
    evaluate.vote_panel(shown, svc, viewer)


def _card(shown: Shown, v: int) -> tuple:
    """A card's heading and its thinking, text and figures slots (keyed, once per run)."""
    st.markdown(f"**{escape_markdown(shown.labels[v])}**")
    boxes = [st.container(key=f"lab_{p}_{v}") for p in ("thinking", "text", "figures")]
    return tuple(box.empty() for box in boxes)


def _variants_panel(shown: Shown) -> None:
    """A fragment: drawn once by the full run, then run on its own (``run_every``), blocking
    on the experiment's queue until every variant ends; then it reruns the page once (the
    cards are drawn finished, with their diff and Save button)."""
    experiment = shown.experiment

    @st.fragment(run_every=stream_panel.KICK)
    @guarded
    def panel() -> None:
        slots = []
        for v, column in enumerate(st.columns(len(experiment.variants))):
            with column, st.container(border=True, key=f"lab_variant_{v}"):
                slots.append(_card(shown, v))
        drawn: list[tuple | None] = [None] * len(slots)

        def draw() -> None:
            for v, (thinking_slot, text_slot, figures_slot) in enumerate(slots):
                state = experiment.variants[v]
                mark = (len(state.thinking), len(state.text), state.finished)
                if drawn[v] != mark:
                    drawn[v] = mark
                    draw_variant(v, state, thinking_slot, text_slot, figures_slot)

        stream_panel.pump(
            source=experiment, apply=lambda events: None, draw=draw, done=lambda: experiment.done
        )
        if experiment.done and stream_panel.in_fragment_run():
            st.rerun()  # the whole page once: each card with its diff and Save button

    panel()


def draw_variant(v: int, state: VariantState, thinking_slot, text_slot, figures_slot) -> None:
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
                render_error(state.error, icon=":material/error:")


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
            st.error(e.message, icon=":material/error:")
            return
        shown.branches[v] = saved.id
        st.switch_page("app_pages/conversation.py", query_params={"run": saved.id})
