"""An experiment's progress, live: a bar with queued / running / done / failed, cost so far and
time left, read from the database every ``EVERY`` seconds (``st.fragment(run_every=...)``),
with Pause, Resume and Cancel. When runs finish the whole page is drawn again (at most every
``PAGE_EVERY`` seconds, and once when the experiment ends) so its results table follows."""

from __future__ import annotations

import time

import streamlit as st

from duet_core.batch import control
from duet_core.batch.app_worker import ensure_worker
from duet_core.errors import DuetError
from duet_core.store.experiment_reads import Progress
from duet_core.vocabulary import ExperimentStatus

EVERY = 1.0  # seconds between progress reads
PAGE_EVERY = 5.0  # seconds at least between whole-page redraws for new results
SEEN_KEY = "_experiment_seen"  # (experiment id, runs finished, when the page was drawn)
ENDED_KEY = "_experiment_ended"  # the experiment whose end the page has drawn
CAN_PAUSE = (ExperimentStatus.ACTIVE,)
CAN_RESUME = (ExperimentStatus.PAUSED, ExperimentStatus.BUDGET)
ENDED = (ExperimentStatus.COMPLETED, ExperimentStatus.CANCELLED)
STATUS_TEXT = {
    ExperimentStatus.ACTIVE: "running",
    ExperimentStatus.PAUSED: "paused",
    ExperimentStatus.BUDGET: "stopped by its budget",
    ExperimentStatus.COMPLETED: "completed",
    ExperimentStatus.CANCELLED: "cancelled",
}


def _time_left(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


def summary(p: Progress) -> str:
    """The bar's line, e.g. "3 of 8 finished · 2 queued · 1 running · 3 done · 0 failed"."""
    parts = [
        f"{p.finished} of {p.runs} finished",
        f"{p.queued} queued",
        f"{p.running} running",
        f"{p.done} done",
        f"{p.failed} failed",
    ]
    if p.stopped:
        parts.append(f"{p.stopped} stopped")
    return " · ".join(parts)


def _act(action, svc, viewer, experiment_id: str) -> None:
    """on_click of Pause / Resume / Cancel."""
    try:
        if action is control.cancel:
            control.cancel(svc.store, experiment_id, viewer.username, viewer.is_admin, svc.manager)
        else:
            action(svc.store, experiment_id, viewer.username, viewer.is_admin)
            ensure_worker(svc)
    except DuetError as e:
        st.session_state["_experiment_error"] = e.message


def _controls(svc, viewer, p: Progress) -> None:
    buttons = (  # label, key, icon, action, whether it applies now
        ("Pause", "exp_pause", "pause", control.pause, p.status in CAN_PAUSE),
        ("Resume", "exp_resume", "play_arrow", control.resume, p.status in CAN_RESUME),
        ("Cancel", "exp_cancel", "cancel", control.cancel, p.status not in ENDED),
    )
    with st.container(horizontal=True):
        for label, key, icon, action, applies in buttons:
            st.button(
                label,
                key=key,
                icon=f":material/{icon}:",
                disabled=not applies,
                on_click=_act,
                args=(action, svc, viewer, p.id),
            )


def _redraw_page_when_results_change(p: Progress) -> None:
    seen = st.session_state.get(SEEN_KEY)
    now = time.monotonic()
    if seen is None or seen[0] != p.id:
        st.session_state[SEEN_KEY] = (p.id, p.finished, now)
        st.session_state[ENDED_KEY] = p.id if p.status in ENDED else None
        return
    _, finished, drawn = seen
    ended = p.status in ENDED and not p.running
    if ended and not st.session_state.get(ENDED_KEY):
        st.session_state[ENDED_KEY] = p.id  # once: the page draws its final results
        st.rerun(scope="app")
    if p.finished != finished and (p.queued == 0 or now - drawn >= PAGE_EVERY):
        st.session_state[SEEN_KEY] = (p.id, p.finished, now)
        st.rerun(scope="app")


def progress_panel(svc, viewer, experiment_id: str, live: bool) -> None:
    """Read every ``EVERY`` seconds while ``live`` (the experiment has not ended)."""
    (_live_panel if live else _still_panel)(svc, viewer, experiment_id)


def _panel(svc, viewer, experiment_id: str) -> None:
    try:
        p = control.progress(svc.store, experiment_id, viewer.username, viewer.is_admin)
    except DuetError as e:
        st.error(e.message, icon=":material/error:")
        return
    with st.container(key="exp_progress"):
        st.progress(p.finished / p.runs if p.runs else 0.0, text=summary(p))
        cost = f"${p.cost_usd:,.4f}"
        if p.judge_cost_usd:
            cost += f" (judges ${p.judge_cost_usd:,.4f})"
        if p.budget_usd is not None:
            cost += f" of ${p.budget_usd:,.2f}"
        st.caption(
            f"Status: **{STATUS_TEXT.get(p.status, p.status.value)}** · cost so far {cost} · "
            f"time left {_time_left(p.eta_seconds)}"
        )
    if error := st.session_state.pop("_experiment_error", None):
        st.error(error, icon=":material/error:")
    _controls(svc, viewer, p)
    _redraw_page_when_results_change(p)


_live_panel = st.fragment(run_every=EVERY)(_panel)
_still_panel = st.fragment(_panel)
