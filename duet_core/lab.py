"""The Prompt Lab: replay a saved turn with other settings, or write one more turn, without
touching the database; "save as branch" is its one write.

    source = lab_sources.load_run(store, run_id, user)            # or read_transcript(...)
    request = regenerate_request(source.run, 2, parse_sets(["temperature=1.3"]))
    lab = Experiment([request, request], provider_for).start()    # two variants at once
    for event in lab.events_until_done():                         # thinking / text / done / error
        ...
    branch = save_branch(store, source, lab.results[0], owner=user)

A request that changes nothing in the persona sends byte for byte the messages the original
turn sent (its recorded ``request_messages``); the other settings (model, temperature, ...)
apply as edited. Each variant streams through ``turn_stream.stream_turn``, the engine's own
per-turn code, so tokens, time to first token, latency and cost are counted the same way.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from duet_core import exports
from duet_core.conversation import request_messages, split_request
from duet_core.errors import ConfigError, DuetError
from duet_core.lab_edits import Edits
from duet_core.lab_sources import LabSource
from duet_core.models import BotConfig, PromptRef, Run, RunStatus, Turn, utcnow
from duet_core.persona import TemplateSource, TurnRequest, turn_request
from duet_core.providers import base
from duet_core.turn_stream import PriceTable, ProviderFor, stream_turn

MAX_VARIANTS = 4
BRANCH_STOP_REASON = "branch"  # a branch starts stopped, ready for Continue
EventType = Literal["thinking", "text", "done", "error"]
log = logging.getLogger("duet.lab")


class RunWriter(Protocol):
    def create_run(self, run: Run) -> None: ...


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


def find_turn(run: Run, index: int) -> Turn:
    for turn in run.turns:
        if turn.index == index:
            return turn
    last = run.turns[-1].index if run.turns else -1
    raise ConfigError(
        f"No turn {index} in this run: --turn takes a turn's index, 0 to {last}"
        " (the page shows it plus one)."
    )


def bots_before(run: Run, index: int) -> list[BotConfig]:
    """The settings each bot had used by turn ``index`` (its configured ones before it spoke)."""
    bots = list(run.config.bots)
    for turn in run.turns:
        if turn.index < index and turn.config is not None and turn.bot_index is not None:
            bots[turn.bot_index] = turn.config
    return bots


def _view(
    run: Run,
    before: Sequence[Turn],
    bot_index: int,
    bots: list[BotConfig],
    library: TemplateSource | None,
) -> TurnRequest:
    """What the engine would send ``bots[bot_index]`` after the turns ``before``."""
    try:
        return turn_request(
            run.config.topic, list(before), bot_index, bots, run.config.max_turns, library
        )
    except LookupError as e:  # a template or version that is not in the library
        raise ConfigError(str(e)) from None


def regenerate_request(
    run: Run, index: int, edits: Edits | None = None, library: TemplateSource | None = None
) -> LabRequest:
    """Turn ``index`` again, by the bot that wrote it, with ``edits`` to its settings.

    Unless the persona is edited, the messages are the ones the turn recorded, unchanged.
    ``library`` (``Store.prompts``) is read when a saved template must be rendered.
    """
    edits = edits or Edits()
    turn = find_turn(run, index)
    if turn.bot_index is None:
        raise ConfigError(
            f"Turn {index} was written by a person ({turn.bot_name}); pick a bot's turn."
        )
    bots = bots_before(run, index)
    original = turn.config or bots[turn.bot_index]
    bot = edits.apply(original)
    if turn.request_messages and not edits.persona_changed:
        system, messages = split_request(turn.request_messages)
        return LabRequest(index, turn.bot_index, bot, system, messages, turn.prompt, replay=True)
    bots[turn.bot_index] = bot
    before = [t for t in run.turns if t.index < index]
    req = _view(run, before, turn.bot_index, bots, library)
    return LabRequest(index, turn.bot_index, bot, req.system, req.messages, req.prompt)


def next_speaker(run: Run) -> int:
    bot_turns = run.bot_turns
    if not bot_turns:
        return run.config.first_speaker
    return 1 - bot_turns[-1].bot_index  # type: ignore[operator]


def continue_request(
    run: Run, edits: Edits | None = None, library: TemplateSource | None = None
) -> LabRequest:
    """One more turn after the last, by the bot whose turn is next, with ``edits``."""
    edits = edits or Edits()
    bot_index = next_speaker(run)
    bots = list(run.bots_in_use())
    bots[bot_index] = edits.apply(bots[bot_index])
    req = _view(run, run.turns, bot_index, bots, library)
    index = run.turns[-1].index + 1 if run.turns else 0
    return LabRequest(index, bot_index, bots[bot_index], req.system, req.messages, req.prompt)


def turn_json(turn: Turn | None) -> dict[str, Any] | None:
    """A turn as in the transcript JSON (with ``prompt`` and ``request_messages``)."""
    if turn is None:
        return None
    return exports.turn_json(exports.turn_record(turn))


# --- running variants --------------------------------------------------------------------


@dataclass(frozen=True)
class LabEvent:
    """One thing a variant did. ``as_json()`` is the command line's ``--json`` line."""

    type: EventType
    variant: int
    content: str = ""
    turn: Turn | None = None
    message: str = ""

    def as_json(self) -> dict[str, Any]:
        if self.type in ("thinking", "text"):
            return {"type": self.type, "variant": self.variant, "content": self.content}
        if self.type == "done":
            return {"type": "done", "variant": self.variant, "turn": turn_json(self.turn)}
        return {"type": "error", "variant": self.variant, "message": self.message}


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
    """Up to four variants streaming at once, each on its own thread. Writes nothing.

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
    ):
        """``logger``: where each provider call is logged (e.g. a ``run_logger`` naming the
        source run and the person); the module's logger by default."""
        if not 1 <= len(requests) <= MAX_VARIANTS:
            raise ConfigError(f"Run 1 to {MAX_VARIANTS} variants at once.")
        self.variants = [VariantState(r) for r in requests]
        self.events: queue.Queue[LabEvent] = queue.Queue()
        self._provider_for = provider_for
        self._prices = prices
        self._log = logger or log
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._streams: list[base.ChunkStream] = []
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
            if event.type in ("done", "error"):
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
            self._emit(LabEvent("text", i, delta))

        def on_thinking(delta: str) -> None:
            state.thinking.append(delta)
            self._emit(LabEvent("thinking", i, delta))

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
            self._emit(LabEvent("error", i, message=state.error, turn=state.turn))
        else:
            self._emit(LabEvent("done", i, turn=state.turn))


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


# --- the one write -----------------------------------------------------------------------


def save_branch(store: RunWriter, source: LabSource | Run, turn: Turn, owner: str) -> Run:
    """Save a new run: the parent's turns before ``turn.index``, then ``turn``.

    The branch records ``parent_id`` (the source run's id) and ``fork_turn`` (the index of its
    first new turn); it is saved stopped, so Continue on the conversation page runs it onward.
    """
    parent = source.run if isinstance(source, LabSource) else source
    if turn.bot_index is None or turn.config is None:
        raise ConfigError("Only a bot's turn from the Lab can start a branch.")
    fork = turn.index
    if fork > (parent.turns[-1].index + 1 if parent.turns else 0):
        raise ConfigError(f"Turn {fork} does not follow the run's turns.")
    before = [t.model_copy(deep=True) for t in parent.turns if t.index < fork]
    now = utcnow()
    branch = Run(
        owner=owner,
        config=parent.config,
        status=RunStatus.STOPPED,
        stop_reason=BRANCH_STOP_REASON,
        created_at=now,
        finished_at=now,
        turns=[*before, turn.model_copy(deep=True)],
        parent_id=parent.id,
        fork_turn=fork,
    )
    store.create_run(branch)
    log.info("branch saved", extra={"run_id": branch.id, "parent_id": parent.id, "fork": fork})
    return branch
