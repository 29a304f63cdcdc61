"""Events a live run publishes, and the per-viewer queue that receives them."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from duet_core.models import BotConfig, Run, RunStatus, Turn


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The run so far; the first event a viewer receives. ``partial`` is the turn in progress."""

    run: Run
    partial: Turn | None
    pending_bots: tuple[BotConfig, BotConfig]  # settings each bot will use on its next turn


@dataclass(frozen=True, slots=True)
class TurnStarted:
    turn_index: int
    bot_index: int
    bot_name: str
    config: BotConfig


@dataclass(frozen=True, slots=True)
class TextDelta:
    turn_index: int
    text: str


@dataclass(frozen=True, slots=True)
class ThinkingDelta:
    turn_index: int
    text: str


@dataclass(frozen=True, slots=True)
class TurnFinished:
    turn: Turn


@dataclass(frozen=True, slots=True)
class BotUpdated:
    bot_index: int
    config: BotConfig


@dataclass(frozen=True, slots=True)
class StatusChanged:
    status: RunStatus
    stop_reason: str | None = None
    error: str | None = None
    finished_at: datetime | None = None  # set when the run ends


@dataclass(frozen=True, slots=True)
class RunError:
    message: str


Event = (
    Snapshot
    | TurnStarted
    | TextDelta
    | ThinkingDelta
    | TurnFinished
    | BotUpdated
    | StatusChanged
    | RunError
)


class Subscription:
    """One viewer's bounded queue of events.

    A viewer that stops draining (a closed tab) cannot make it grow without bound: when the
    queue is full, or nothing has been drained for ``abandon_after`` seconds, the run drops the
    subscription and marks it ``dropped``. A viewer that comes back sees ``dropped`` and
    subscribes again, starting from a fresh snapshot.
    """

    def __init__(self, maxsize: int = 20_000, abandon_after: float = 120.0):
        self._queue: queue.Queue[Event] = queue.Queue(maxsize=maxsize)
        self.abandon_after = abandon_after
        self.last_drained = time.monotonic()
        self.dropped = False
        # called (on the run's thread) after each event is queued: lets an asyncio reader wait
        # without a thread of its own (``duet_ui.conversation.feed``); it must not block or raise
        self.notify: Callable[[], None] | None = None

    def offer(self, event: Event) -> bool:
        """Queue ``event``; False (and the subscription is dropped) when the viewer is gone."""
        if self.dropped:
            return False
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped = True
            return False
        if self.notify is not None:
            self.notify()
        return True

    def abandoned(self, now: float) -> bool:
        return now - self.last_drained > self.abandon_after

    def drain(self, max_events: int | None = None, timeout: float = 0.0) -> list[Event]:
        """Events queued so far (waiting up to ``timeout`` for the first one)."""
        self.last_drained = time.monotonic()
        events: list[Event] = []
        try:
            if timeout > 0:
                events.append(self._queue.get(timeout=timeout))
            while max_events is None or len(events) < max_events:
                events.append(self._queue.get_nowait())
        except queue.Empty:
            pass
        return events

    def get(self, timeout: float | None = None) -> Event | None:
        """The next event, or None after ``timeout`` seconds."""
        self.last_drained = time.monotonic()
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
