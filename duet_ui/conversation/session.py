"""Which run this browser session shows, and its subscription to that run's events.

The run id lives in the URL (``?run=...``): a reload or a second tab opens it again and
rebuilds the view from the snapshot that starts every subscription. ``LiveView`` (kept in
``st.session_state``) holds the session's ``RunState`` (the one fold of run events, from
``duet_core.run.state``), the live run and the subscription. Events may be applied from two
script threads for a moment (a full rerun starts while the previous run's fragment is still
leaving), so applying them takes a lock.

Which full runs of the page a person caused: a person's action in the browser (a slider
moved, a button) starts a new script runner (``runner.fastReruns``, Streamlit's default, stops
the old one), while ``st.rerun()`` (the live panel redrawing the page) runs the script again in
the same runner. Such a run brings no edit of the person's, yet it can bring widget values:
the live panel's ``run_every`` timer sends the browser's widget values every 0.1 s, and a tick
sent before the browser drew the settings the page last showed carries the older ones back
(Streamlit keeps a queued tick's values for the rerun asked for next). ``LiveView`` remembers
the runners it has run in, so the page knows which runs it asked for itself.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field

import streamlit as st
from streamlit import config as st_config
from streamlit.runtime.scriptrunner import get_script_run_ctx

from duet_core.errors import AccessDenied, DuetError
from duet_core.models import BotConfig, Run
from duet_core.run.engine import LiveRun
from duet_core.run.events import Event, Subscription
from duet_core.run.state import RunState
from duet_core.vocabulary import RunStatus
from duet_ui.shell.services import Services, Viewer

VIEW_KEY = "duet_view"
RUN_KEY = "duet_run_id"  # the session's last run, restored to the URL after a page switch
JUST_STARTED_KEY = "duet_just_started"  # Start was pressed in the run before this one


@dataclass(eq=False)
class LiveView:
    state: RunState
    live: LiveRun | None = None  # None: a run of another process, shown read-only
    sub: Subscription | None = None
    filled: bool = False  # the widgets show this run's setup
    synced_bots: list[BotConfig | None] = field(default_factory=lambda: [None, None])
    synced_values: list[dict | None] = field(default_factory=lambda: [None, None])
    drawn_values: list[dict | None] = field(default_factory=lambda: [None, None])  # last drawn
    noted: tuple[bool, bool] = (False, False)  # a "changes apply from ..." note is shown
    page_runs: int = 0  # full script runs of the page that have begun (see ``newest``)
    _runners: weakref.WeakSet = field(default_factory=weakref.WeakSet)  # see the module doc
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def run(self) -> Run:
        return self.state.run

    @property
    def run_id(self) -> str:
        return self.state.run.id

    @property
    def status(self) -> RunStatus:
        return self.state.status

    @property
    def pause_requested(self) -> bool:
        """Pause was pressed (in any tab): the run pauses after the turn in progress."""
        return self.live is not None and self.live.pause_requested

    @property
    def is_live(self) -> bool:
        return self.live is not None and self.state.live

    # --- events ------------------------------------------------------------------------

    def attach(self) -> Subscription | None:
        """This session's subscription (a new one, starting with a snapshot, when there is
        none or the run dropped it)."""
        if self.live is None:
            return None
        sub = self.sub
        if sub is None or (sub.dropped and self.is_live):
            sub = self.sub = self.live.subscribe()
        return sub

    def pull(self) -> None:
        """Apply the events queued for this session."""
        sub = self.attach()
        if sub is not None:
            self.apply(sub.drain())

    def apply(self, events: Sequence[Event]) -> None:
        with self._lock:
            self.state.apply_all(events)

    def detach(self, sub: Subscription | None) -> None:
        """Unsubscribe ``sub`` (a closed tab, or a fragment pre-empted by a rerun: the next
        run subscribes again and starts from a snapshot)."""
        if sub is None or self.live is None:
            return
        self.live.unsubscribe(sub)
        if self.sub is sub:
            self.sub = None

    def begin_page_run(self) -> tuple[int, bool]:
        """Number this full script run of the page (call once, at its top), and say whether
        the page asked for it itself (``st.rerun()``): such a run brings no edit of the
        person's, only widget values the browser may have sent before it drew the last run."""
        runner = script_runner()
        with self._lock:
            self.page_runs += 1
            asked = runner is not None and runner in self._runners
            if runner is not None:
                self._runners.add(runner)
            return self.page_runs, asked

    def note_runner(self) -> None:
        """A run of the live panel's fragment: a full run it asks for is the page's own."""
        runner = script_runner()
        if runner is not None:
            with self._lock:
                self._runners.add(runner)

    def newest(self, page_run: int, action) -> bool:
        """Do ``action()`` only if ``page_run`` is still the newest run of the page; False
        otherwise. A widget change starts a new run while the previous one is still being
        stopped (``runner.fastReruns``): the old run must not push its older values."""
        with self._lock:
            if page_run != self.page_runs:
                return False
            action()
            return True

    def export_run(self) -> Run:
        """The run as it is now, for a download (mid-run too)."""
        return self.live.snapshot().run if self.live is not None else self.run

    def close(self) -> None:
        self.detach(self.sub)


def script_runner() -> object | None:
    """The script runner of this run (its request queue stands for it), or None when there
    is none or a person's rerun may join a running one (``runner.fastReruns`` off)."""
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None or not st_config.get_option("runner.fastReruns"):
        return None
    return ctx.script_requests


def current_view(viewer: Viewer, services: Services) -> LiveView | None:
    """The run named in the URL (or this session's last run), attached and up to date.

    Raises DuetError (shown by the page) when the run does not exist or is someone else's.
    """
    run_id = st.query_params.get("run")
    if not run_id and st.session_state.get(RUN_KEY):
        run_id = st.query_params["run"] = st.session_state[RUN_KEY]
    if not run_id:
        return None
    view: LiveView | None = st.session_state.get(VIEW_KEY)
    if view is None or view.run_id != run_id:
        try:
            fresh = _open(run_id, viewer, services)
        except DuetError:
            st.query_params.pop("run", None)
            st.session_state.pop(RUN_KEY, None)
            raise
        if view is not None:
            view.close()
        view = st.session_state[VIEW_KEY] = fresh
        st.session_state[RUN_KEY] = run_id
    view.pull()
    return view


def _open(run_id: str, viewer: Viewer, services: Services) -> LiveView:
    live = services.manager.get_for(run_id, viewer.username, viewer.is_admin)
    if live is not None:
        view = LiveView(RunState.of(live.snapshot().run), live)
        view.attach()  # starts with a snapshot: the view rebuilds from it
        return view
    run = services.store.get_run(run_id)
    if run is None or not (viewer.is_admin or run.owner == viewer.username):
        raise AccessDenied(f"There is no run {run_id} that you may see.")
    return LiveView(RunState.of(run))


START_KEY = "start"  # the Start button's widget key
START_ERROR_KEY = "duet_start_error"  # why the last Start failed, shown by the next run


def start_pressed() -> bool:
    """Start was clicked: known from the first line of the run the click starts, before the
    button draws, so this run can draw the page as running (no second run of the page)."""
    return st.session_state.get(START_KEY) is True


def start(
    config, viewer: Viewer, services: Services, keys: dict[str, str], forms: Sequence
) -> LiveView:
    """Start a run, put it in the URL and return its view, for the rest of this script run to
    draw (the page above was drawn as running already: ``start_pressed``). ``forms``: the bot
    forms as drawn, which the run now uses. Raises DuetError (limits, bad settings)."""
    live = services.manager.start(
        config, viewer.username, keys=keys, rate_limited=not services.settings.dev_mode
    )
    st.query_params["run"] = st.session_state[RUN_KEY] = live.id
    st.session_state[JUST_STARTED_KEY] = True  # the panel streams as soon as this run ends
    view = current_view(viewer, services)
    assert view is not None
    # the widgets show the settings the run started with: nothing to fill in the next run
    # (filling would overwrite a change made in the browser before that run)
    view.filled = True
    for i, bot in enumerate(live.bots()):
        view.synced_bots[i], view.synced_values[i] = bot, forms[i].values
        view.drawn_values[i] = forms[i].values
    return view


def start_failed(message: str) -> None:
    """Start did not start a run: the page, drawn as running, is drawn again with ``message``."""
    st.session_state[START_ERROR_KEY] = message
    st.rerun()


def show_start_error() -> None:
    message = st.session_state.pop(START_ERROR_KEY, None)
    if message:
        st.error(message)


def continue_run(view: LiveView, viewer: Viewer, services: Services, keys: dict) -> None:
    """Start the run again from where it ended. Raises DuetError."""
    services.manager.continue_run(
        view.run_id,
        viewer.username,
        keys=keys,
        is_admin=viewer.is_admin,
        rate_limited=not services.settings.dev_mode,
    )
    view.close()
    st.session_state.pop(VIEW_KEY, None)  # attach to the run's new thread on the rerun
    st.rerun()
