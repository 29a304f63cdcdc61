"""Drawing a run on the conversation page: header, finished turns, the turn being written,
the outcome. No event handling here: everything is drawn from a ``RunState``.

Finished turns are drawn by ``transcript.render_turn``; the turn in progress is a
``WritingTurn``: its card is made once per turn and then only its text placeholder is
updated, so a token costs O(length of that turn), never O(length of the transcript); when the
turn ends, the same card becomes the finished one. When the app serves the text feed
(``duet_ui.conversation.feed``), the text and thinking placeholders hold slots the feed writes into,
and a token costs the page nothing at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import streamlit as st

from duet_core.models import RunConfig, Turn
from duet_core.run.state import RunState
from duet_core.vocabulary import BOT_COLOURS, PERSON_COLOUR, RunStatus, describe_stop_reason
from duet_ui.conversation.feed import TEXT, THINKING
from duet_ui.conversation.feed_view import PAGE_FEED_KEY, feed_slot
from duet_ui.shared.transcript import (
    avatar_for,
    bot_colour,
    escape_markdown,
    format_cost,
    render_change_notes,
    render_error,
    render_markdown,
    render_turn,
    turn_caption,
)

SHOW_LAST = 40  # finished turns drawn by default; the whole run is in the downloads
CURSOR = " ▌"


def side(bot_index: int | None) -> str:
    """The class a turn's container gets for its colour (see ``STYLE``)."""
    return "person" if bot_index is None else f"bot{bot_index}"


# --- header ---------------------------------------------------------------------------------


def elapsed(state: RunState, now: datetime | None = None) -> str:
    run = state.run
    start = run.created_at if run.created_at.tzinfo else run.created_at.replace(tzinfo=UTC)
    end = run.finished_at or now or datetime.now(UTC)
    end = end if end.tzinfo else end.replace(tzinfo=UTC)
    seconds = max(0, int((end - start).total_seconds()))
    return f"{seconds // 60}:{seconds % 60:02d}"


def header_fields(state: RunState, pause_requested: bool) -> tuple:
    """What the header shows (status text, status, turn x of N, tokens, cost, elapsed): a
    tuple, so the panel redraws the header only when it changes. O(1)."""
    status = state.status.value
    if pause_requested and state.status is RunStatus.RUNNING:
        status = "pausing after this turn"
    return (
        status,
        state.status,
        f"**Turn {state.turn_number} of {state.run.config.max_turns}**",
        f"{state.tokens:,} tokens",
        format_cost(state.cost),
        f"{elapsed(state)} elapsed",
    )


class Header:
    """The header's row, made once; ``update`` redraws only the fields that changed (the
    elapsed time every second, the turn and tokens at a turn's end), each in place, so the
    browser updates one text instead of mounting the whole row again."""

    def __init__(self) -> None:
        with st.container(horizontal=True, vertical_alignment="center"):
            self._badge = st.empty()
            self._texts = [st.empty() for _ in range(4)]
        self._fields: tuple | None = None

    def update(self, fields: tuple) -> None:
        old = self._fields or (None,) * len(fields)
        if fields == old:
            return
        self._fields = fields
        status, run_status, *texts = fields
        if (status, run_status) != old[:2]:
            self._badge.badge(status, color=run_status.colour, width="content")
        for slot, text, before in zip(self._texts, texts, old[2:], strict=True):
            if text != before:
                slot.markdown(text, width="content")


# --- finished turns -------------------------------------------------------------------------


def shown_turns(turns: Sequence[Turn], show_all: bool) -> Sequence[Turn]:
    return turns if show_all or len(turns) <= SHOW_LAST else turns[-SHOW_LAST:]


def draw_turn(turn: Turn, config: RunConfig, notes: Sequence[str] = ()) -> None:
    """One finished turn (with the settings-change notes that come before it)."""
    if notes:
        render_change_notes(notes)
    with st.container(key=f"t{turn.index}-{side(turn.bot_index)}-turn"):
        render_turn(turn, config)


# --- the turn being written -----------------------------------------------------------------


class WritingTurn:
    """The card of the turn in progress, made once; ``update`` redraws only its text, and
    ``finish`` turns it into the finished turn's card in place.

    Its outer container has the finished card's key (``t{i}-bot0-turn``) from the start; the
    text being written sits in a container keyed ``live_turn_{i}`` that goes when the turn
    ends. Finishing changes the name line, the text (without the cursor) and adds the caption:
    the browser updates three small elements instead of mounting a new card (which, with the
    next turn's first token arriving milliseconds later, held that token back)."""

    def __init__(
        self, slot, turn: Turn, config: RunConfig | None = None, feed_run: str | None = None
    ):
        self.slot = slot  # its placeholder in the transcript
        self._feed_run = feed_run  # the run whose text feed writes this turn (text_feed)
        self.index = turn.index
        self._thinking_len = self._text_len = -1  # nothing drawn yet
        self._thinking_text = None
        self._label = turn.bot_name or "Bot"
        self._colour = bot_colour(turn.bot_index)
        name = escape_markdown(self._label)
        model = escape_markdown(turn.config.model) if turn.config else ""
        with slot.container():
            self._notes = st.empty()
            with (
                st.container(key=f"t{turn.index}-{side(turn.bot_index)}-turn"),
                st.chat_message(self._label, avatar=avatar_for(turn, config)),
            ):
                # an element is redrawn in place by calling the same kind on it again
                self._name = st.markdown(
                    f"**:{self._colour}[{name}]** :gray[· {model} is writing…]"
                )
                self._thinking = st.empty()
                self._body = st.empty()
                self._caption = st.empty()
        with self._body.container(key=f"live_turn_{turn.index}"):
            self._text = st.empty()

    @property
    def has_text(self) -> bool:
        """Some of the turn's text (or thinking) is on screen, or its slot for the feed is
        (the page then has nothing urgent to draw for the first token)."""
        return self._text_len > 0 or self._thinking_len > 0

    def update(self, state: RunState) -> None:
        """Show the text so far (a no-op when nothing new arrived). With a feed, the text and
        the thinking are drawn once each, as slots the feed then writes into."""
        if state.thinking and len(state.thinking) != self._thinking_len:
            first = self._thinking_len < 0
            self._thinking_len = len(state.thinking)
            if self._feed_run is None:
                self._show_thinking("".join(state.thinking))
            elif first:
                thinking = "".join(state.thinking)
                feed_slot(self._thinking_box(), self._feed_run, self.index, THINKING, thinking)
        if self._feed_run is not None:
            if self._text_len < 0:
                self._text_len = 1
                feed_slot(self._text, self._feed_run, self.index, TEXT, "".join(state.text))
            return
        if len(state.text) != self._text_len:
            self._text_len = len(state.text)
            render_markdown("".join(state.text) + CURSOR, self._text)

    def _thinking_box(self):
        """The placeholder in the "Thinking" expander (made the first time)."""
        if self._thinking_text is None:
            with self._thinking.container():
                self._thinking_text = st.expander("Thinking", expanded=False).empty()
        return self._thinking_text

    def _show_thinking(self, text: str) -> None:
        render_markdown(text, self._thinking_box())

    def finish(self, turn: Turn, config: RunConfig, notes: Sequence[str] = ()) -> None:
        """The finished ``turn``, drawn as ``render_turn`` draws it, in this card."""
        if notes:
            with self._notes.container():
                render_change_notes(notes)
        self._name.markdown(f"**:{self._colour}[{escape_markdown(self._label)}]**")
        if turn.thinking.strip():
            self._show_thinking(turn.thinking)
        elif self._thinking_text is not None:
            self._thinking.empty()
        if turn.content.strip():
            render_markdown(turn.content, self._body)
        else:
            self._body.caption("(no reply)")
        caption = turn_caption(turn, config)
        if caption:
            self._caption.caption(escape_markdown(caption))


def draw_waiting(state: RunState, pause_requested: bool) -> None:
    """Between turns: paused, or waiting for the next one."""
    if state.status is RunStatus.PAUSED:
        st.info(
            "Paused between turns. Press Resume (below) to go on.", icon=":material/pause_circle:"
        )
    elif state.live and not pause_requested:
        st.caption("Waiting for the next turn…")
    elif state.live:
        st.caption("Pausing…")


# --- the outcome ----------------------------------------------------------------------------


def draw_outcome(state: RunState, other_process: bool) -> None:
    run = state.run
    if run.status is RunStatus.ERROR:
        render_error(
            f"The run stopped with an error: {run.error or 'unknown error'}",
            icon=":material/warning:",
        )
    elif run.status is RunStatus.STOPPED:
        st.info("Stopped.", icon=":material/stop_circle:")
    elif run.status is RunStatus.COMPLETED:
        st.success(
            f"Finished: {describe_stop_reason(run.stop_reason)}.", icon=":material/check_circle:"
        )
    elif run.status is RunStatus.INTERRUPTED:
        st.warning(
            "Interrupted: the server stopped while this run was going.", icon=":material/warning:"
        )
    elif other_process:
        st.info("This run is going on in another server process; showing what is saved.")


# Static CSS (no user text): each bot's turns get a tinted card with a coloured edge.
def _card(name: str, rgb: str) -> str:
    return (
        f'[class*="-{name}-turn"] [data-testid="stChatMessage"] {{\n'
        f"  background: rgba({rgb}, 0.07); border-left: 4px solid rgb({rgb});\n"
        "  padding-right: 1rem;\n}\n"
    )


STYLE = (
    "<style>\n"
    + "".join(_card(f"bot{i}", c.rgb()) for i, c in enumerate(BOT_COLOURS))
    + _card("person", PERSON_COLOUR.rgb())
    + "".join(
        f'[class*="st-key-bot{i}_section"] {{ border-top: 4px solid rgb({c.rgb()}); }}\n'
        for i, c in enumerate(BOT_COLOURS)
    )
    + f".st-key-{PAGE_FEED_KEY} {{ display: none; }}\n"
    + "</style>"
)


def style() -> None:
    st.html(STYLE)
