"""The two-bot conversation engine: one background thread per run.

``LiveRun`` owns a run's live state behind one lock. The thread alternates the bots, streams
each provider, publishes events to every viewer's queue and writes each finished turn to the
store as soon as it finishes. Controls (stop, pause, resume, update a bot, interject) may be
called from any thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from duet_core import telemetry
from duet_core.errors import ConfigError, DuetError
from duet_core.logs import run_logger
from duet_core.models import BotConfig, Run, RunStatus, Turn, utcnow, validated
from duet_core.providers import base
from duet_core.run.events import (
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
from duet_core.run.persona import pin_version, turn_request
from duet_core.run.state import RunState
from duet_core.run.stop_conditions import WallClock, reason_after_turn, reason_to_finish
from duet_core.run.turn_stream import ProviderFor, StreamedTurn, stream_turn
from duet_core.run.viewers import Viewers
from duet_core.vocabulary import FinishReason, StopReason

MAX_INTERJECTION = 20_000


class RunStore(Protocol):
    def create_run(self, run: Run) -> None: ...
    def save_turn(self, run_id: str, turn: Turn) -> None: ...
    def set_status(
        self,
        run_id: str,
        status: RunStatus,
        stop_reason: str | None = None,
        error: str | None = None,
        finished_at: Any = None,
    ) -> None: ...


class LiveRun:
    def __init__(
        self,
        run: Run,
        provider_for: ProviderFor,
        store: RunStore | None = None,
        price_table: dict[str, tuple[float, float]] | None = None,
    ):
        self.id = run.id
        self.owner = run.owner
        # saved templates (Store.prompts); a bot's "latest" template version is pinned now
        self._library = getattr(store, "prompts", None)
        pinned = [pin_version(b, self._library) for b in run.config.bots]
        run.config = run.config.model_copy(update={"bots": pinned})
        # the one fold of this run's events (O(1) per event), and the one owner of the
        # settings each bot uses next (a continued run carries on with its last ones)
        carried = [pin_version(b, self._library) for b in run.bots_in_use()]
        self._state = RunState.of(run, pending_bots=(carried[0], carried[1]))
        self._run = self._state.run
        self._provider_for = provider_for
        self._store = store
        self._prices = price_table
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._stop_requested = False
        self._stopped_as = (RunStatus.STOPPED, StopReason.USER)  # how a stop ends the run
        self._pause_requested = False
        self._clock = WallClock()  # max_seconds: time spent running here, pauses not counted
        self._interjections: list[tuple[str, str]] = []
        self._stream: base.ChunkStream | None = None
        self._viewers = Viewers()
        self._thread = threading.Thread(target=self._main, name=f"duet-run-{run.id}", daemon=True)
        self.log = run_logger(run.id, run.owner)

    # --- reading -------------------------------------------------------------------------

    @property
    def status(self) -> RunStatus:
        return self._run.status

    @property
    def pause_requested(self) -> bool:
        """Pause was pressed; the run pauses (or has paused) between turns."""
        return self._pause_requested

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def bots(self) -> tuple[BotConfig, BotConfig]:
        """The settings each bot will use on its next turn."""
        with self._lock:
            return self._state.bots_next()

    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._state.snapshot()

    def subscribe(self, maxsize: int = 20_000, abandon_after: float = 120.0) -> Subscription:
        """A new viewer queue whose first event is a snapshot of the run so far."""
        sub = Subscription(maxsize=maxsize, abandon_after=abandon_after)
        with self._lock:
            sub.offer(self.snapshot())
            if self.status.live:
                self._viewers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._viewers.remove(sub)

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._viewers)

    # --- controls ------------------------------------------------------------------------

    def start(self) -> LiveRun:
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def stop(
        self, status: RunStatus = RunStatus.STOPPED, reason: StopReason = StopReason.USER
    ) -> None:
        """Abort the current stream at once; the partial turn is kept, marked as stopped.
        The run ends as ``status`` for ``reason`` (a server shutting down: interrupted)."""
        with self._lock:
            if not self._stop_requested:
                self._stopped_as = (status, reason)
            self._stop_requested = True
            stream = self._stream
            self._wake.notify_all()
        if stream is not None:
            stream.close()
        self.log.info("stop requested")

    def pause(self) -> None:
        """Pause between turns: the turn in progress finishes first."""
        with self._lock:
            if self._run.status.live:
                self._pause_requested = True

    def resume(self) -> None:
        with self._lock:
            self._pause_requested = False
            self._wake.notify_all()

    def update_bot(self, bot_index: int, config: BotConfig | dict[str, Any]) -> BotConfig:
        """Validate and store new settings for a bot; they apply from its next turn."""
        if bot_index not in (0, 1):
            raise ConfigError("bot_index must be 0 or 1")
        with self._lock:
            if isinstance(config, dict):
                merged = {**self._state.bots_next()[bot_index].model_dump(), **config}
                config = validated(BotConfig, merged)
            config = pin_version(config, self._library)  # switch template version mid-run
            self._emit(BotUpdated(bot_index, config))  # the fold now holds it for the next turn
        self.log.info("bot updated", extra={"bot_index": bot_index})
        return config

    def interject(self, text: str, author: str = "Moderator") -> None:
        """A person's message joins the conversation before the next turn."""
        text = text.strip()
        if not text:
            raise ConfigError("Type a message to interject.")
        if len(text) > MAX_INTERJECTION:
            raise ConfigError(f"An interjection may be at most {MAX_INTERJECTION} characters.")
        with self._lock:
            if not self._run.status.live:
                raise ConfigError("The run has ended; continue it to add a message.")
            self._interjections.append((author.strip() or "Moderator", text))
            self._wake.notify_all()

    # --- publishing ----------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        """Apply ``event`` to the run's state, then offer it to every viewer. Caller holds
        the lock."""
        self._state.apply(event)
        self._viewers.publish(event)

    def _set_status(
        self, status: RunStatus, stop_reason: str | None = None, error: str | None = None
    ) -> None:
        """Save the new status, then tell the viewers (so what they see is already saved)."""
        finished = None if status.live else utcnow()
        if self._store is not None:
            try:
                self._store.set_status(self.id, status, stop_reason, error, finished)
            except Exception:
                self.log.exception("could not save the run's status")
        with self._lock:
            self._emit(StatusChanged(status, stop_reason, error, finished))
            if error:
                self._emit(RunError(error))
            if not status.live:
                self._viewers.clear()
        self.log.info("status %s", status.value, extra={"stop_reason": stop_reason})

    # --- the thread ----------------------------------------------------------------------

    def _main(self) -> None:
        with telemetry.run_span(self.id, self.owner, self._run.config.topic):
            self._run_to_the_end()

    def _run_to_the_end(self) -> None:
        try:
            self._converse()
        except DuetError as e:
            self.log.warning("run failed: %s", e.message)
            self._set_status(RunStatus.ERROR, StopReason.ERROR, e.message)
        except Exception as e:  # a bug: keep the turns, tell the user, log the traceback
            self.log.exception("run crashed")
            self._set_status(
                RunStatus.ERROR, StopReason.ERROR, f"Internal error: {type(e).__name__}: {e}"
            )

    def _converse(self) -> None:
        config = self._run.config
        while True:
            # decide under the lock, write to the database outside it: a slow write must not
            # block the viewers that read this run's settings
            with self._lock:
                pending, self._interjections = self._interjections, []
                stop, pause, status = self._stop_requested, self._pause_requested, self.status
            self._take_interjections(pending)
            if stop:
                break
            if pause:
                self._clock.hold()
                if status is RunStatus.RUNNING:
                    self._set_status(RunStatus.PAUSED)
                with self._lock:
                    if self._pause_requested and not (self._stop_requested or self._interjections):
                        self._wake.wait(timeout=1.0)
                continue
            self._clock.run()
            if status is RunStatus.PAUSED:
                self._set_status(RunStatus.RUNNING)
            with self._lock:
                done, tokens, cost = self._state.bot_turns, self._state.tokens, self._state.cost
            reason = reason_to_finish(config, done, tokens, cost, self._clock.seconds)
            if reason:
                self._set_status(RunStatus.COMPLETED, reason)
                return
            turn = self._take_turn(self._next_speaker())
            if turn.finish_reason == FinishReason.STOPPED:
                break
            with self._lock:
                reason = reason_after_turn(config, self._run.turns)
            if reason:
                self._set_status(RunStatus.COMPLETED, reason)
                return
        with self._lock:
            status, reason = self._stopped_as
        self._set_status(status, reason)

    def _next_speaker(self) -> int:
        return self._state.next_speaker

    def _take_interjections(self, pending: list[tuple[str, str]]) -> None:
        """Add taken interjections as turns (called without the lock: this writes)."""
        for author, text in pending:
            now = utcnow()
            turn = Turn(
                index=len(self._run.turns),
                bot_index=None,
                bot_name=author,
                content=text,
                started_at=now,
                finished_at=now,
                finish_reason=FinishReason.PERSON,
            )
            self._finish_turn(turn)

    def _finish_turn(self, turn: Turn) -> None:
        """Commit the turn, then add it to the live run and tell the viewers."""
        if self._store is not None:
            self._store.save_turn(self.id, turn)
        with self._lock:
            self._emit(TurnFinished(turn))  # adds the turn, ends the partial one

    @contextmanager
    def _streaming(self, stream: base.ChunkStream) -> Iterator[base.ChunkStream]:
        with self._lock:
            self._stream = stream
            if self._stop_requested:
                stream.close()
        try:
            yield stream
        finally:
            stream.close()
            with self._lock:
                self._stream = None

    def _take_turn(self, bot_index: int) -> Turn:
        with self._lock:
            bots = self._state.bots_next()
            bot = bots[bot_index]
            request = turn_request(
                self._run.config.topic,
                self._run.turns,
                bot_index,
                list(bots),
                self._run.config.max_turns,
                self._library,
            )
            system, messages = request.system, request.messages
            turn = Turn(
                index=len(self._run.turns),
                bot_index=bot_index,
                bot_name=bot.name,
                config=bot,
                prompt=request.prompt,  # the template and version behind this turn, if any
                request_messages=request.request_messages,  # exactly what the provider gets
            )
            self._emit(TurnStarted(turn.index, bot_index, bot.name, bot))

        # the wall-clock budget ends the run even in the middle of a turn
        budget = self._run.config.max_seconds
        timer = None
        if budget:
            timer = threading.Timer(max(self._clock.left(budget), 0.0), self._out_of_time)
            timer.daemon = True
            timer.start()
        try:
            done = self._stream_turn(system, messages, bot, turn)
        finally:
            if timer is not None:
                timer.cancel()
        if done.failure is not None and not done.stopped:
            if done.has_output:
                self._finish_turn(turn)  # keep what arrived before the failure
            raise done.failure  # the error status that follows ends the partial turn too
        self._finish_turn(turn)
        return turn

    def _out_of_time(self) -> None:
        self.log.info("max_seconds reached")
        self.stop(RunStatus.COMPLETED, StopReason.TIME_BUDGET)

    def _stream_turn(
        self, system: str, messages: list[base.Message], bot: BotConfig, turn: Turn
    ) -> StreamedTurn:
        def on_text(delta: str) -> None:
            with self._lock:
                self._emit(TextDelta(turn.index, delta))

        def on_thinking(delta: str) -> None:
            with self._lock:
                self._emit(ThinkingDelta(turn.index, delta))

        return stream_turn(
            self._provider_for,
            system,
            messages,
            bot,
            turn,
            on_text=on_text,
            on_thinking=on_thinking,
            hold=self._streaming,
            stop_requested=self._stopping,
            prices=self._prices,
            log=self.log,
        )

    def _stopping(self) -> bool:
        with self._lock:
            return self._stop_requested


def start_run(run: Run, provider_for: ProviderFor, store: RunStore | None = None, **kw) -> LiveRun:
    """Save a new run and start its thread."""
    live = LiveRun(run, provider_for, store, **kw)  # checks templates, pins their versions
    if store is not None:
        store.create_run(run)
    return live.start()
