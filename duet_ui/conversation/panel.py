"""The live panel: header, transcript and the turn being written, pushed as events arrive.

One fragment (see ``duet_ui.shared.stream_panel``): the full script run draws it once; while the run
is live, the fragment then runs on its own and blocks on this session's subscription. In that
loop a token updates only the text of the turn being written (nothing at all when the text
comes by the text feed, ``duet_ui.conversation.feed``), a finished turn is appended to
the transcript (the others are not drawn again) and the header is redrawn only when one of
its fields changes: nothing a loop iteration does grows with the transcript. The whole page
reruns only when it must: the run ended (outcome, controls), a bot with a "changes apply from
its next turn" note started speaking, or another viewer changed a bot's settings.
"""

from __future__ import annotations

import time
from collections import deque

import streamlit as st

from duet_core.models import Turn
from duet_core.run.events import Subscription
from duet_core.vocabulary import RunStatus
from duet_ui.conversation import feed as text_feed
from duet_ui.conversation.draw import (
    SHOW_LAST,
    Header,
    WritingTurn,
    draw_turn,
    draw_waiting,
    header_fields,
    shown_turns,
)
from duet_ui.conversation.session import JUST_STARTED_KEY, VIEW_KEY, LiveView
from duet_ui.shared import stream_panel
from duet_ui.shared.transcript import change_notes
from duet_ui.shell.errors import guarded

HEARTBEAT = 1.0  # seconds: the elapsed time on the header moves even when nothing arrives
WAIT_NOTE = 0.5  # seconds without a turn in progress before "Waiting for the next turn…"


def live_panel(view: LiveView, show_all: bool, drawn_live: bool) -> None:
    """Draw the panel in the current container (call it last in the script: it may block).

    ``drawn_live``: the page around it was drawn for a live run (Start disabled, Pause and
    Stop). The run may have ended since, even within this script run: with fast reruns the
    fragment run this run pre-empted can still apply the run's last events for a moment.
    The fragment then runs once more and redraws the page as ended, so the controls are never
    left showing a run that is over."""

    @st.fragment(run_every=stream_panel.KICK if drawn_live or view.is_live else None)
    @guarded
    def panel() -> None:
        current: LiveView | None = st.session_state.get(VIEW_KEY)
        if current is not None:
            current.note_runner()  # a page run this fragment asks for is the page's own
            if st.session_state.pop(JUST_STARTED_KEY, False) and current.is_live:
                # the script run of the Start click: stream from the moment it ends, not when the
                # browser's run_every timer fires (a new page or a reload keep the timer:
                # a fragment run queued in a session's first runs left the page blank)
                stream_panel.run_after_script()
            Panel(current, show_all).run()
            if stream_panel.in_fragment_run() and not current.is_live:
                st.rerun()  # ended since the page was drawn live: the page, drawn as ended

    panel()


class Panel:
    """One run of the fragment: what it has drawn, and how to draw what changed.

    Each turn on screen has its own placeholder in the transcript's container: the turn being
    written is drawn into a new one appended at the end, and when that turn finishes the same
    card becomes the finished one (``WritingTurn.finish``: nothing is mounted again, nothing
    else is drawn again). Past ``SHOW_LAST`` turns (unless all are shown) the oldest card's
    placeholder is emptied, so the window stays at the last ``SHOW_LAST`` turns while the run
    goes on, as after a rerun.
    """

    def __init__(self, view: LiveView, show_all: bool):
        self.view = view
        self.state = view.state
        self.show_all = show_all
        self.sub: Subscription | None = None
        self.writing: WritingTurn | None = None
        self.waiting: tuple | None = None
        self.idle_since = time.monotonic()  # no turn in progress since (see ``WAIT_NOTE``)
        self.rerun_page = False
        self.drawn = 0
        self.cards: deque = deque()  # the placeholders of the finished turns on screen
        self.last_by_bot: dict[int, Turn] = {}

    def run(self) -> None:
        view = self.view
        if view.is_live and stream_panel.in_fragment_run():
            self.sub = view.attach()
            if self.sub is not None:
                view.apply(self.sub.drain())  # a fresh subscription's snapshot comes first
        self.generation = self.state.generation
        self._layout()
        if self.sub is None:  # the full script run, or a run that is not live: draw once
            self.draw()
            return
        sub = self.sub
        stream_panel.pump(
            source=sub,
            apply=view.apply,
            draw=self.draw,
            done=self.done,
            on_exit=lambda: view.detach(sub),
            urgent=self.urgent,
            heartbeat=HEARTBEAT,
            block=True,
        )
        if self.rerun_page or not view.is_live:
            st.rerun()  # the outcome, the controls and the sidebar change with this
        st.rerun(scope="fragment")  # a fresh snapshot or a dropped subscription: start over

    def _layout(self) -> None:
        """The header, the transcript as it is now, and the slot below it (paused, waiting)."""
        with st.container(key="live_header"):
            self.header = Header()
        self.turns = st.container()
        self.slot = st.empty()
        turns = self.state.run.turns
        notes = change_notes(turns)
        for turn in shown_turns(turns, self.show_all):
            self._show_finished(turn, notes.get(turn.index, ()), self.turns.empty())
        self.drawn = len(turns)
        for turn in reversed(turns):
            if turn.bot_index is not None and turn.bot_index not in self.last_by_bot:
                self.last_by_bot[turn.bot_index] = turn
                if len(self.last_by_bot) == 2:
                    break

    def done(self) -> bool:
        return (
            self.rerun_page
            or not self.view.is_live
            or self.sub is None
            or self.sub.dropped
            or self.generation != self.state.generation
        )

    def urgent(self) -> bool:
        """Draw at once, whatever the frame: a turn finished or started, or the turn in
        progress has its first text (a first token is never held behind a turn's end)."""
        state, writing = self.state, self.writing
        if self.drawn != len(state.run.turns):
            return True
        partial = state.partial
        if partial is None or writing is None or writing.index != partial.index:
            return partial is not None or writing is not None
        return not writing.has_text and bool(state.text)

    # --- drawing what changed ----------------------------------------------------------

    def draw(self) -> None:
        state, view = self.state, self.view
        if self.generation != state.generation:
            return  # a snapshot replaced the state: the fragment starts over
        self._new_turns()
        self.header.update(header_fields(state, view.pause_requested))
        partial = state.partial
        if partial is not None:
            if self.writing is None or self.writing.index != partial.index:
                self._drop_writing()
                fed = state.run.id if view.is_live and text_feed.serving() else None
                self.writing = WritingTurn(self.turns.empty(), partial, state.run.config, fed)
                self._check_notes(partial)
            self.writing.update(state)
            self.idle_since = None
        else:
            self._drop_writing()
            if self.idle_since is None:
                self.idle_since = time.monotonic()
        self._draw_waiting()
        self._check_other_viewers()

    def _draw_waiting(self) -> None:
        """Below the transcript: paused, pausing, or (after ``WAIT_NOTE`` without a turn in
        progress) waiting for the next turn. Nothing while a turn is written, and nothing in
        the moment between two turns (no note that would show for a few milliseconds)."""
        state, view = self.state, self.view
        quiet = self.idle_since is not None and time.monotonic() - self.idle_since >= WAIT_NOTE
        if state.partial is not None or not (
            quiet or view.pause_requested or state.status is not RunStatus.RUNNING
        ):
            waiting = None
        else:
            waiting = (state.status, view.pause_requested, view.is_live)
        if waiting == self.waiting:
            return
        self.waiting = waiting
        if waiting is None:
            self.slot.empty()
            return
        with self.slot.container():
            draw_waiting(state, view.pause_requested)

    def _drop_writing(self) -> None:
        """The turn in progress is gone without finishing (a failure with no output)."""
        if self.writing is not None:
            self.writing.slot.empty()
            self.writing = None

    def _new_turns(self) -> None:
        turns = self.state.run.turns
        while self.drawn < len(turns):
            turn = turns[self.drawn]
            self.drawn += 1
            before = self.last_by_bot.get(turn.bot_index) if turn.bot_index is not None else None
            notes = change_notes([before, turn] if before is not None else [turn])
            writing = self.writing
            if writing is not None and writing.index == turn.index:
                writing.finish(turn, self.state.run.config, notes.get(turn.index, ()))
                self.writing = None
                self._keep(writing.slot)  # the card that streamed it is now the finished one
            else:
                self._show_finished(turn, notes.get(turn.index, ()), self.turns.empty())
            if turn.bot_index is not None:
                self.last_by_bot[turn.bot_index] = turn

    def _show_finished(self, turn: Turn, notes, slot) -> None:
        """``turn``'s finished card in ``slot``; the oldest card goes past ``SHOW_LAST``."""
        with slot.container():
            draw_turn(turn, self.state.run.config, notes)
        self._keep(slot)

    def _keep(self, slot) -> None:
        self.cards.append(slot)
        while not self.show_all and len(self.cards) > SHOW_LAST:
            self.cards.popleft().empty()

    def _check_notes(self, partial: Turn) -> None:
        """A bot that had a "changes apply from its next turn" note now speaks: the note goes."""
        if partial.bot_index is not None and self.view.noted[partial.bot_index]:
            self.rerun_page = True

    def _check_other_viewers(self) -> None:
        """Another viewer changed a bot's settings: the sidebar shows them after a rerun."""
        pending = self.state.pending_bots
        synced = self.view.synced_bots
        if pending is not None and any(
            synced[i] is not None and pending[i] != synced[i] for i in (0, 1)
        ):
            self.rerun_page = True
