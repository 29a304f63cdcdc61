"""One bot turn streamed from its provider, with the per-turn bookkeeping.

``stream_turn`` is the single copy of "call the provider and fill in a ``Turn``": text and
thinking kept apart, tokens, time to first token, latency, cost, finish reason, and what
arrived before a failure or a stop. The engine (``LiveRun``) and the Prompt Lab both use it;
each says what to do with every delta through callbacks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from duet_core import catalog, telemetry
from duet_core.errors import ProviderError
from duet_core.logs import cut_prompt
from duet_core.models import BotConfig, Turn, utcnow
from duet_core.providers import base
from duet_core.vocabulary import FinishReason

ProviderFor = Callable[[BotConfig], base.Provider]
PriceTable = dict[str, tuple[float, float]]


def _ignore(_text: str) -> None:
    return None


def _never() -> bool:
    return False


@dataclass(slots=True)
class StreamedTurn:
    """The finished ``turn`` and, when the provider failed, the error (the turn keeps what
    arrived before it). ``stopped`` is True when the consumer asked to stop."""

    turn: Turn
    failure: ProviderError | None = None
    stopped: bool = False

    @property
    def has_output(self) -> bool:
        return bool(self.turn.content or self.turn.thinking)


def stream_turn(
    provider_for: ProviderFor,
    system: str,
    messages: list[base.Message],
    bot: BotConfig,
    turn: Turn,
    *,
    on_text: Callable[[str], None] = _ignore,
    on_thinking: Callable[[str], None] = _ignore,
    hold: Callable[[base.ChunkStream], AbstractContextManager[base.ChunkStream]] = nullcontext,
    stop_requested: Callable[[], bool] = _never,
    prices: PriceTable | None = None,
    log: logging.Logger | logging.LoggerAdapter | None = None,
) -> StreamedTurn:
    """Stream ``bot``'s reply to ``messages`` into ``turn`` (changed in place and returned).

    ``hold(stream)`` wraps the open stream (the engine registers it there so Stop can close
    it from another thread); ``stop_requested()`` is read once the stream ends, to tell a stop
    from a finish. Provider errors are returned, never raised; anything else is a bug and
    propagates.
    """
    with telemetry.model_call(bot, system, messages, turn) as span:
        done = _stream(
            provider_for, system, messages, bot, turn, on_text, on_thinking, hold,
            stop_requested, prices,
        )  # fmt: skip
        span.finish(done.turn, done.failure)
    if log is not None:
        log_call(log, bot, messages, turn, done.failure)
    return done


def _stream(
    provider_for: ProviderFor,
    system: str,
    messages: list[base.Message],
    bot: BotConfig,
    turn: Turn,
    on_text: Callable[[str], None],
    on_thinking: Callable[[str], None],
    hold: Callable[[base.ChunkStream], AbstractContextManager[base.ChunkStream]],
    stop_requested: Callable[[], bool],
    prices: PriceTable | None,
) -> StreamedTurn:
    text: list[str] = []
    thinking: list[str] = []
    started = time.perf_counter()
    ttft: float | None = None
    failure: ProviderError | None = None
    try:
        stream = provider_for(bot).open(system, messages, bot)
        started = time.perf_counter()  # timed from the request: not the SDK import or client set-up
        with hold(stream) as held:
            for chunk in held:
                if isinstance(chunk, base.TextDelta):
                    if ttft is None:
                        ttft = (time.perf_counter() - started) * 1000
                    text.append(chunk.text)
                    on_text(chunk.text)
                elif isinstance(chunk, base.ThinkingDelta):
                    if ttft is None:
                        ttft = (time.perf_counter() - started) * 1000
                    thinking.append(chunk.text)
                    on_thinking(chunk.text)
                elif isinstance(chunk, base.Usage):
                    turn.input_tokens = chunk.input_tokens
                    turn.output_tokens = chunk.output_tokens
                elif isinstance(chunk, base.Finish):
                    turn.finish_reason = chunk.reason
    except ProviderError as e:
        failure = e
    stopped = stop_requested()
    turn.content, turn.thinking = "".join(text), "".join(thinking)
    turn.finished_at = utcnow()
    turn.latency_ms = round((time.perf_counter() - started) * 1000, 1)
    turn.ttft_ms = round(ttft, 1) if ttft is not None else None
    if stopped:
        turn.finish_reason = FinishReason.STOPPED
    elif failure is not None:
        turn.finish_reason = FinishReason.ERROR
    turn.cost_usd = catalog.cost_usd(
        bot.model, turn.input_tokens, turn.output_tokens, prices, provider=bot.provider
    )
    return StreamedTurn(turn, failure, stopped)


def log_call(
    log: logging.Logger | logging.LoggerAdapter,
    bot: BotConfig,
    messages: list[base.Message],
    turn: Turn,
    failure: Exception | None,
) -> None:
    """One structured record per provider call (the prompt cut to 50 characters)."""
    log.info(
        "provider call",
        extra={
            "provider": bot.provider,
            "model": bot.model,
            "turn": turn.index,
            "duration_ms": turn.latency_ms,
            "ttft_ms": turn.ttft_ms,
            "input_tokens": turn.input_tokens,
            "output_tokens": turn.output_tokens,
            "finish_reason": turn.finish_reason,
            "prompt": cut_prompt(messages[-1]["content"]) if messages else "",
            "error": type(failure).__name__ if failure else None,
        },
    )
