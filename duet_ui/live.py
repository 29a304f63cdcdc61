"""The live view of one run: this session's page state, built from the run's events.

How a refresh stays cheap however long the transcript grows:

- ``LiveView`` (in ``st.session_state``) holds what the page shows: the finished turns, the
  turn in progress, running totals. Each event changes it in O(1): a text delta appends to
  the partial turn, a finished turn is appended to the list.
- Finished turns are drawn only by the full script run. The live fragment, which refreshes
  every ``REFRESH`` seconds while the run is live, drains this session's queue and draws only
  the header and the turn in progress.
- When the fragment sees that the finished turns, the status or the bots' settings differ
  from what the last full run drew, it asks for one full rerun (``st.rerun()``): once per
  finished turn, not once per refresh.
- When the run is not live the fragment does not poll at all (``run_every=None``).

The run id lives in the URL (``?run=...``): a reload or a second tab subscribes again and
rebuilds the view from the snapshot that starts every subscription.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import streamlit as st

from duet_core import exports
from duet_core.engine import LiveRun
from duet_core.errors import AccessDenied, DuetError
from duet_core.events import (
    BotUpdated,
    Event,
    RunError,
    Snapshot,
    StatusChanged,
    Subscription,
    TextDelta,
    ThinkingDelta,
    TurnFinished,
    TurnStarted,
)
from duet_core.models import BotConfig, Run, RunStatus, Turn, utcnow
from duet_core.settings import Settings
from duet_ui import bot_form, setup_file
from duet_ui.services import Services, Viewer
from duet_ui.transcript import (
    avatar_for,
    bot_colour,
    change_notes,
    escape_markdown,
    format_cost,
    render_change_notes,
    render_turn,
)

REFRESH = 0.25  # seconds between live refreshes
SHOW_LAST = 40  # finished turns drawn by default; the whole run is in the downloads
CONTINUABLE = (RunStatus.STOPPED, RunStatus.INTERRUPTED, RunStatus.ERROR)
VIEW_KEY = "duet_view"
RUN_KEY = "duet_run_id"  # the session's last run, restored to the URL after a page switch
STATUS_COLOURS = {
    RunStatus.RUNNING: "green",
    RunStatus.PAUSED: "orange",
    RunStatus.COMPLETED: "blue",
    RunStatus.STOPPED: "gray",
    RunStatus.ERROR: "red",
    RunStatus.INTERRUPTED: "violet",
}
STOP_REASONS = {
    "max_turns": "the turn limit was reached",
    "stop_phrase": "a reply contained a stop phrase",
    "token_budget": "the token budget was used up",
    "cost_budget": "the cost budget was used up",
}


@dataclass(eq=False)
class LiveView:
    run: Run
    live: LiveRun | None = None  # None: a run of another process, shown read-only
    sub: Subscription | None = None
    partial: Turn | None = None
    text: list[str] = field(default_factory=list)
    thinking: list[str] = field(default_factory=list)
    pending_bots: tuple[BotConfig, BotConfig] | None = None
    tokens: int = 0
    cost: float | None = 0.0
    bot_turns: int = 0
    drawn: tuple | None = None  # what the last full script run drew
    filled: bool = False  # the widgets show this run's setup
    synced_bots: list[BotConfig | None] = field(default_factory=lambda: [None, None])
    synced_values: list[dict | None] = field(default_factory=lambda: [None, None])

    @classmethod
    def of(cls, run: Run, live: LiveRun | None = None) -> LiveView:
        view = cls(run=run, live=live)
        view._totals()
        view.pending_bots = run.bots_in_use()
        return view

    @property
    def run_id(self) -> str:
        return self.run.id

    @property
    def status(self) -> RunStatus:
        return self.run.status

    @property
    def pause_requested(self) -> bool:
        """Pause was pressed (in any tab): the run pauses after the turn in progress."""
        return self.live is not None and self.live.pause_requested

    @property
    def is_live(self) -> bool:
        return self.live is not None and self.run.status.live

    # --- events ----------------------------------------------------------------------------

    def pull(self) -> None:
        """Apply the events queued for this session (subscribing again if dropped)."""
        if self.live is None:
            return
        if self.sub is None or (self.sub.dropped and self.is_live):
            self.sub = self.live.subscribe()
        for event in self.sub.drain():
            self.apply(event)

    def apply(self, event: Event) -> None:
        if isinstance(event, TextDelta):
            if self.partial is not None and event.turn_index == self.partial.index:
                self.text.append(event.text)
        elif isinstance(event, ThinkingDelta):
            if self.partial is not None and event.turn_index == self.partial.index:
                self.thinking.append(event.text)
        elif isinstance(event, TurnStarted):
            self.partial = Turn(
                index=event.turn_index,
                bot_index=event.bot_index,
                bot_name=event.bot_name,
                config=event.config,
            )
            self.text, self.thinking = [], []
        elif isinstance(event, TurnFinished):
            self._add(event.turn)
            if self.partial is not None and self.partial.index == event.turn.index:
                self.partial = None
        elif isinstance(event, BotUpdated):
            bots = list(self.pending_bots or self.run.bots_in_use())
            bots[event.bot_index] = event.config
            self.pending_bots = (bots[0], bots[1])
        elif isinstance(event, StatusChanged):
            self.run.status, self.run.stop_reason = event.status, event.stop_reason
            self.run.error = event.error
            if not event.status.live:
                self.run.finished_at = self.run.finished_at or utcnow()
                self.partial = None
        elif isinstance(event, RunError):
            self.run.error = event.message
        elif isinstance(event, Snapshot):
            self.run = event.run
            self.partial = event.partial
            self.text = [event.partial.content] if event.partial else []
            self.thinking = [event.partial.thinking] if event.partial else []
            self.pending_bots = event.pending_bots
            self._totals()

    def _add(self, turn: Turn) -> None:
        self.run.turns.append(turn)
        self.tokens += (turn.input_tokens or 0) + (turn.output_tokens or 0)
        if not turn.by_person:
            self.bot_turns += 1
            cost = turn.cost_usd
            self.cost = None if cost is None or self.cost is None else self.cost + cost

    def _totals(self) -> None:
        self.tokens = self.run.total_tokens
        self.cost = self.run.total_cost_usd
        self.bot_turns = len(self.run.bot_turns)

    # --- what the full run drew --------------------------------------------------------------

    def _drawn_state(self) -> tuple:
        return (len(self.run.turns), self.run.status, self.pending_bots)

    def mark_drawn(self) -> None:
        self.drawn = self._drawn_state()

    def needs_full_redraw(self) -> bool:
        return self.drawn != self._drawn_state()

    def export_run(self) -> Run:
        """The run as it is now, for a download (mid-run too)."""
        return self.live.snapshot().run if self.live is not None else self.run

    def close(self) -> None:
        if self.live is not None and self.sub is not None:
            self.live.unsubscribe(self.sub)


# --- finding the run ------------------------------------------------------------------------


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
        view = LiveView.of(live.snapshot().run, live)
        view.sub = live.subscribe()  # starts with a snapshot: the view rebuilds from it
        return view
    run = services.store.get_run(run_id)
    if run is None or not (viewer.is_admin or run.owner == viewer.username):
        raise AccessDenied(f"There is no run {run_id} that you may see.")
    return LiveView.of(run)


def start(config, viewer: Viewer, services: Services, keys: dict[str, str]) -> None:
    """Start a run and put it in the URL. Raises DuetError (limits, bad settings)."""
    live = services.manager.start(
        config, viewer.username, keys=keys, rate_limited=not services.settings.dev_mode
    )
    st.query_params["run"] = st.session_state[RUN_KEY] = live.id
    st.rerun()


# --- keeping the sidebar and the run's settings in step -------------------------------------


def sync_widgets(view: LiveView | None, settings: Settings) -> None:
    """Before the widgets draw: show a newly attached run's setup, or settings changed by
    another viewer of the same run."""
    if view is None:
        return
    if not view.filled:
        setup_file.fill(view.run.config, settings, bots=False)
        bots = view.live.bots() if view.live is not None else view.pending_bots
        for i, bot in enumerate(bots or view.run.config.bots):
            _show_bot(view, i, bot)
        view.filled = True
    elif view.is_live:
        for i, bot in enumerate(view.live.bots()):
            if bot != view.synced_bots[i]:
                _show_bot(view, i, bot)


def _show_bot(view: LiveView, i: int, bot: BotConfig) -> None:
    bot_form.fill(i, bot)
    view.synced_bots[i] = bot
    view.synced_values[i] = bot_form.widget_values(bot)


def push_bot_change(view: LiveView | None, i: int, form: bot_form.BotForm) -> str | None:
    """After bot ``i``'s widgets draw: send its edited settings to the live run (they apply
    from its next turn). Returns an error message to show, if any."""
    if view is None or not view.is_live:
        return None
    if form.config is None or form.values == view.synced_values[i]:
        return None
    current = view.live.bots()
    if form.config != current[i]:
        try:
            view.live.update_bot(i, form.config)
        except DuetError as e:
            return e.message
    view.synced_bots[i], view.synced_values[i] = form.config, form.values
    bots = list(view.pending_bots or current)
    bots[i] = form.config
    view.pending_bots = (bots[0], bots[1])
    return None


def pending_note(view: LiveView | None, i: int) -> str | None:
    """'Changes apply from Bob's next turn.' while bot ``i`` has settings it has not used yet."""
    if view is None or not view.is_live or view.pending_bots is None:
        return None
    pending = view.pending_bots[i]
    if view.partial is not None and view.partial.bot_index == i:
        used = view.partial.config
    else:
        used = next(
            (t.config for t in reversed(view.run.turns) if t.bot_index == i and t.config), None
        )
    if used is None or used == pending:
        return None
    return f"Changes apply from {pending.name}'s next turn."


# --- drawing --------------------------------------------------------------------------------


def _elapsed(run: Run) -> str:
    start = run.created_at if run.created_at.tzinfo else run.created_at.replace(tzinfo=UTC)
    end = run.finished_at or datetime.now(UTC)
    end = end if end.tzinfo else end.replace(tzinfo=UTC)
    seconds = max(0, int((end - start).total_seconds()))
    return f"{seconds // 60}:{seconds % 60:02d}"


def draw_header(view: LiveView) -> None:
    """Status, turn x of N, tokens and cost so far, elapsed time: O(1) in transcript length."""
    run = view.run
    speaking = view.partial is not None and not view.partial.by_person
    turn = min(view.bot_turns + speaking, run.config.max_turns)
    status = run.status.value
    if view.pause_requested and run.status is RunStatus.RUNNING:
        status = "pausing after this turn"
    with st.container(horizontal=True, vertical_alignment="center", key="live_header"):
        st.badge(status, color=STATUS_COLOURS[run.status], width="content")
        st.markdown(f"**Turn {turn} of {run.config.max_turns}**", width="content")
        st.markdown(f"{view.tokens:,} tokens", width="content")
        st.markdown(format_cost(view.cost), width="content")
        st.markdown(f"{_elapsed(run)} elapsed", width="content")


def draw_partial(view: LiveView) -> None:
    """The turn in progress, as its text grows. O(length of this turn)."""
    turn = view.partial
    if turn is None:
        if view.is_live and view.run.status is RunStatus.PAUSED:
            st.info("Paused between turns. Press Resume to go on.", icon="⏸️")
        elif view.is_live:
            st.caption("Waiting for the next turn…")
        return
    name = escape_markdown(turn.bot_name)
    model = escape_markdown(turn.config.model) if turn.config else ""
    with (
        st.container(key=f"live_turn_{turn.index}"),
        st.container(key=f"live-{_side(turn.bot_index)}-turn"),
        st.chat_message(turn.bot_name, avatar=avatar_for(turn)),
    ):
        st.markdown(f"**:{bot_colour(turn.bot_index)}[{name}]** :gray[· {model} is writing…]")
        thinking = "".join(view.thinking)
        if thinking:
            with st.expander("Thinking", expanded=False):
                st.markdown(thinking)
        st.markdown("".join(view.text) + " ▌")


def draw_outcome(view: LiveView) -> None:
    run = view.run
    if run.status is RunStatus.ERROR:
        st.error(f"The run stopped with an error: {run.error or 'unknown error'}", icon="⚠️")
    elif run.status is RunStatus.STOPPED:
        st.info("Stopped.", icon="⏹️")
    elif run.status is RunStatus.COMPLETED:
        why = STOP_REASONS.get(run.stop_reason or "", run.stop_reason or "done")
        st.success(f"Finished: {why}.", icon="✅")
    elif run.status is RunStatus.INTERRUPTED:
        st.warning("Interrupted: the server stopped while this run was going.", icon="⚠️")
    elif view.live is None:
        st.info("This run is going on in another server process; showing what is saved.")


def draw_transcript(view: LiveView) -> None:
    """Finished turns: drawn by full script runs only, never by the live refresh. A long
    transcript shows its last ``SHOW_LAST`` turns unless the person asks for all of them."""
    turns = view.run.turns
    shown = turns
    if len(turns) > SHOW_LAST:
        hidden = len(turns) - SHOW_LAST
        if not st.toggle(f"Show the {hidden} earlier turns", key="show_all_turns"):
            shown = turns[-SHOW_LAST:]
    notes = change_notes(turns)
    for turn in shown:
        if turn.index in notes:
            render_change_notes(notes[turn.index])
        with st.container(key=f"t{turn.index}-{_side(turn.bot_index)}-turn"):
            render_turn(turn, view.run.config)
    view.mark_drawn()


def _side(bot_index: int | None) -> str:
    """The class a turn's container gets for its colour (see ``STYLE``)."""
    return "person" if bot_index is None else f"bot{bot_index}"


# Static CSS (no user text): each bot's turns get a tinted card with a coloured edge.
STYLE = """<style>
[class*="-bot0-turn"] [data-testid="stChatMessage"] {
  background: rgba(28, 131, 225, 0.07); border-left: 4px solid rgb(28, 131, 225);
  padding-right: 1rem;
}
[class*="-bot1-turn"] [data-testid="stChatMessage"] {
  background: rgba(255, 140, 0, 0.08); border-left: 4px solid rgb(255, 140, 0);
  padding-right: 1rem;
}
[class*="-person-turn"] [data-testid="stChatMessage"] {
  background: rgba(128, 128, 128, 0.08); border-left: 4px solid rgb(128, 128, 128);
  padding-right: 1rem;
}
[class*="st-key-bot0_section"] { border-top: 4px solid rgb(28, 131, 225); }
[class*="st-key-bot1_section"] { border-top: 4px solid rgb(255, 140, 0); }
</style>"""


def style() -> None:
    st.html(STYLE)


def live_panel(view: LiveView, header: st.delta_generator.DeltaGenerator) -> None:
    """The fragment: refreshes the header and the partial turn while the run is live."""

    @st.fragment(run_every=REFRESH if view.is_live else None)
    def panel() -> None:
        current: LiveView | None = st.session_state.get(VIEW_KEY)
        if current is None:
            return
        current.pull()
        if current.needs_full_redraw():
            st.rerun()  # a turn finished or the status changed: redraw the transcript once
        with header:
            draw_header(current)
        draw_partial(current)

    panel()


def controls(view: LiveView | None, viewer: Viewer, services: Services, keys: dict) -> None:
    """Pause or Resume, and Stop, for the live run; Continue for one that was cut short."""
    if view is None:
        return
    if not view.is_live:
        if view.status in CONTINUABLE and st.button(
            "Continue",
            key="continue",
            icon=":material/redo:",
            help="Start this run again from where it ended, with the settings it last used.",
        ):
            _continue(view, viewer, services, keys)
        return
    if view.status is RunStatus.PAUSED or view.pause_requested:
        st.button("Resume", key="resume", icon=":material/play_arrow:", on_click=view.live.resume)
    else:
        st.button("Pause", key="pause", icon=":material/pause:", on_click=view.live.pause)
    st.button("Stop", key="stop", icon=":material/stop:", on_click=view.live.stop)


def _continue(view: LiveView, viewer: Viewer, services: Services, keys: dict) -> None:
    try:
        services.manager.continue_run(
            view.run_id,
            viewer.username,
            keys=keys,
            is_admin=viewer.is_admin,
            rate_limited=not services.settings.dev_mode,
        )
    except DuetError as e:
        st.error(e.message)
        return
    view.close()
    st.session_state.pop(VIEW_KEY, None)  # attach to the run's new thread on the rerun
    st.rerun()


def downloads(view: LiveView) -> None:
    """The transcript as JSON or CSV, as it stands (also mid-run)."""
    name = f"duet-{view.run_id}"
    st.download_button(
        "Transcript JSON",
        data=lambda: exports.transcript_json(view.export_run()),
        file_name=f"{name}.json",
        mime="application/json",
        key="run_download_json",
        icon=":material/download:",
        on_click="ignore",
    )
    st.download_button(
        "Transcript CSV",
        data=lambda: exports.turns_csv([view.export_run()]),
        file_name=f"{name}.csv",
        mime="text/csv",
        key="run_download_csv",
        icon=":material/download:",
        on_click="ignore",
    )
    st.page_link(
        "app_pages/history.py",
        label="Open in History",
        icon=":material/history:",
        query_params={"run": view.run_id},
    )


def interject_box(view: LiveView, viewer: Viewer) -> None:
    """A person's message joins the conversation before the next turn."""
    if not view.is_live:
        return
    text = st.chat_input(f"Say something to both bots as {viewer.name}…", key="interject")
    if text:
        try:
            view.live.interject(text, author=viewer.name)
        except DuetError as e:
            st.error(e.message)
