"""Prompt Lab variants running at once: each on its own thread, streaming through
``turn_stream.stream_turn`` (the engine's own per-turn code), events on one queue.

``Experiment`` writes nothing; ``duet_core.lab.requests`` builds its requests and saves a branch.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from duet_core.errors import ConfigError, DuetError
from duet_core.exports import transcript as exports
from duet_core.models import BotConfig, PromptRef, Turn
from duet_core.providers import base
from duet_core.run.bot_view import request_messages
from duet_core.run.turn_stream import PriceTable, ProviderFor, stream_turn

# --- what a variant sends ----------------------------------------------------------------


@dataclass(frozen=True)
class LabRequest:
    """One variant's request: the bot (with its edited settings) and the exact messages.

    ``replay`` is True when ``system`` and ``messages`` are the original turn's, unchanged.
    """

    index: int  # the index the new turn takes in the run
    bot_index: int
    bot: BotConfig
    system: str
    messages: list[base.Message]
    prompt: PromptRef | None = None
    replay: bool = False

    @property
    def request_messages(self) -> list[dict[str, str]]:
        """As recorded on a turn: the system prompt first (when any), then the messages."""
        return request_messages(self.system, self.messages)


MAX_VARIANTS = 4


class LabEventType(StrEnum):
    """What a variant did: ``LabEvent.type`` (and the ``"type"`` of its JSON line)."""

    THINKING = "thinking"
    TEXT = "text"
    DONE = "done"
    ERROR = "error"


log = logging.getLogger("duet.lab")


def turn_json(turn: Turn | None) -> dict[str, Any] | None:
    """A turn as in the transcript JSON (with ``prompt`` and ``request_messages``)."""
    if turn is None:
        return None
    return exports.turn_json(exports.turn_record(turn))


@dataclass(frozen=True)
class LabEvent:
    """One thing a variant did. ``as_json()`` is the command line's ``--json`` line."""

    type: LabEventType
    variant: int
    content: str = ""
    turn: Turn | None = None
    message: str = ""

    def as_json(self) -> dict[str, Any]:
        kind = str(self.type)
        if self.type in (LabEventType.THINKING, LabEventType.TEXT):
            return {"type": kind, "variant": self.variant, "content": self.content}
        if self.type == LabEventType.DONE:
            return {"type": kind, "variant": self.variant, "turn": turn_json(self.turn)}
        return {"type": kind, "variant": self.variant, "message": self.message}


@dataclass
class VariantState:
    """What one variant has produced so far (read by a page between events)."""

    request: LabRequest
    text: list[str] = field(default_factory=list)
    thinking: list[str] = field(default_factory=list)
    turn: Turn | None = None  # when finished (also after a failure, with what arrived)
    error: str | None = None
    finished: bool = False


class Experiment:
    """Up to four variants (``most``) streaming at once, each on its own thread. Writes
    nothing.

    Events arrive on ``events`` (a ``queue.Queue`` of ``LabEvent``) in the order they happen;
    each variant ends with exactly one ``done`` or ``error`` event. ``stop()`` closes every
    stream at once (a stopped variant is ``done`` with finish reason ``stopped``).
    """

    def __init__(
        self,
        requests: Sequence[LabRequest],
        provider_for: ProviderFor,
        prices: PriceTable | None = None,
        logger: logging.Logger | logging.LoggerAdapter | None = None,
        *,
        most: int = MAX_VARIANTS,
    ):
        """``logger``: where each provider call is logged (e.g. a ``run_logger`` naming the
        source run and the person); the module's logger by default. ``most``: how many
        requests it takes (the Lab on many conversations runs one per conversation)."""
        if not 1 <= len(requests) <= most:
            raise ConfigError(f"Run 1 to {most} variants at once.")
        self.variants = [VariantState(r) for r in requests]
        self.events: queue.Queue[LabEvent] = queue.Queue()
        self._provider_for = provider_for
        self._prices = prices
        self._log = logger or log
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._streams: list[base.ChunkStream] = []
        # called (on a variant's thread) after each event is queued: lets an asyncio reader
        # wait without a thread of its own (the HTTP API); it must not block or raise
        self.notify: Callable[[], None] | None = None
        self._threads = [
            threading.Thread(target=self._run, args=(i,), name=f"duet-lab-{i}", daemon=True)
            for i in range(len(requests))
        ]

    def start(self) -> Experiment:
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            streams = list(self._streams)
        for s in streams:
            s.close()

    @property
    def done(self) -> bool:
        return all(v.finished for v in self.variants)

    def join(self, timeout: float | None = None) -> bool:
        for t in self._threads:
            t.join(timeout)
        return not any(t.is_alive() for t in self._threads)

    @property
    def results(self) -> list[Turn | None]:
        return [v.turn for v in self.variants]

    def drain(self, max_events: int | None = None, timeout: float = 0.0) -> list[LabEvent]:
        """The events queued so far (at most ``max_events``), waiting up to ``timeout`` seconds
        for the first one."""
        out: list[LabEvent] = []
        try:
            out.append(
                self.events.get(timeout=timeout) if timeout > 0 else self.events.get_nowait()
            )
            while max_events is None or len(out) < max_events:
                out.append(self.events.get_nowait())
        except queue.Empty:
            pass
        return out

    def events_until_done(self, poll: float = 0.1) -> Iterator[LabEvent]:
        """Every event as it happens, until each variant has finished."""
        ended = 0
        while ended < len(self.variants):
            try:
                event = self.events.get(timeout=poll)
            except queue.Empty:
                continue
            if event.type in (LabEventType.DONE, LabEventType.ERROR):
                ended += 1
            yield event

    # --- the threads -----------------------------------------------------------------------

    @contextmanager
    def _hold(self, stream: base.ChunkStream) -> Iterator[base.ChunkStream]:
        with self._lock:
            self._streams.append(stream)
        if self._stop.is_set():
            stream.close()
        try:
            yield stream
        finally:
            stream.close()
            with self._lock:
                self._streams.remove(stream)

    def _emit(self, event: LabEvent) -> None:
        self.events.put(event)
        if self.notify is not None:
            self.notify()

    def _run(self, i: int) -> None:
        state = self.variants[i]
        req = state.request
        turn = Turn(
            index=req.index,
            bot_index=req.bot_index,
            bot_name=req.bot.name,
            config=req.bot,
            prompt=req.prompt,
            request_messages=req.request_messages,
        )

        def on_text(delta: str) -> None:
            state.text.append(delta)
            self._emit(LabEvent(LabEventType.TEXT, i, delta))

        def on_thinking(delta: str) -> None:
            state.thinking.append(delta)
            self._emit(LabEvent(LabEventType.THINKING, i, delta))

        try:
            done = stream_turn(
                self._provider_for,
                req.system,
                req.messages,
                req.bot,
                turn,
                on_text=on_text,
                on_thinking=on_thinking,
                hold=self._hold,
                stop_requested=self._stop.is_set,
                prices=self._prices,
                log=self._log,
            )
            state.turn = turn
            if done.failure is not None and not done.stopped:
                state.error = done.failure.message
        except DuetError as e:
            state.error = e.message
        except Exception as e:  # a bug: tell the page, keep the other variants going
            log.exception("lab variant crashed")
            state.error = f"Internal error: {type(e).__name__}: {e}"
        state.finished = True
        if state.error is not None:
            self._emit(LabEvent(LabEventType.ERROR, i, message=state.error, turn=state.turn))
        else:
            self._emit(LabEvent(LabEventType.DONE, i, turn=state.turn))


def run_variants(
    requests: Sequence[LabRequest],
    provider_for: ProviderFor,
    prices: PriceTable | None = None,
    on_event: Callable[[LabEvent], None] | None = None,
    logger: logging.Logger | logging.LoggerAdapter | None = None,
) -> Experiment:
    """Run the variants to the end, calling ``on_event`` for each event; Ctrl-C stops them."""
    lab = Experiment(requests, provider_for, prices, logger).start()
    try:
        for event in lab.events_until_done():
            if on_event is not None:
                on_event(event)
    except KeyboardInterrupt:
        lab.stop()
        lab.join(5)
        raise
    lab.join()
    return lab
