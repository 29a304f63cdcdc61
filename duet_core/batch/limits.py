"""Concurrency per provider that backs off on rate limits (docs/design.md, "Experiments").

Each provider endpoint (provider and base URL) gets a ``ProviderLimit``: at most ``limit``
requests in flight from this process. A 429 or an overload answer halves the limit (once per
burst: answers to requests sent before the last cut do not cut again) and holds new requests
back for a while (0.5 s doubling to 60 s, with jitter); each request that succeeds raises the
limit by one again, up to its ceiling. So the experiment slows down instead of failing.

``LimitedProvider`` wraps a bot's provider for an experiment's run: its request waits for a
slot; when the provider answers 429 or overloaded, or sends nothing within the request timeout,
before anything was streamed (after the SDK's own retries), the request is sent again once the
limit lets it, for up to ``patience``
seconds in all; then the error ends the turn as it would any run. A reply that has started
streaming is never sent again. The SDKs' own retries stay as configured (``max_retries``):
this is the scheduler that decides how many requests a sweep of a thousand runs sends at once,
not a retry loop in place of theirs.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from duet_core.errors import Overloaded, RateLimited, StreamStalled
from duet_core.models import BotConfig
from duet_core.providers.base import Chunk, ChunkStream, Message, Provider

PATIENCE = 900.0  # seconds a request may keep being sent again while rate limited
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 60.0
# a 429, an overload, or no answer at all within the timeout (a provider, or this process's
# own event loop, too busy to answer): each says fewer requests at once
BACKING_OFF = (RateLimited, Overloaded, StreamStalled)

Clock = Callable[[], float]


@dataclass(frozen=True)
class LimitState:
    limit: int
    ceiling: int
    in_flight: int
    lowest: int  # the lowest limit it has had
    cuts: int  # how many times it was cut
    held_for: float  # seconds until new requests may be sent


class ProviderLimit:
    """At most ``limit`` requests at once; cut in half by ``backed_off``, raised by one per
    ``succeeded``, never above ``ceiling`` nor below 1. Thread-safe."""

    def __init__(
        self,
        ceiling: int,
        clock: Clock = time.monotonic,
        seed: int | None = None,
        first_backoff: float = FIRST_BACKOFF,
    ):
        self.ceiling = max(1, int(ceiling))
        self.first_backoff = first_backoff
        self._limit = float(self.ceiling)
        self._lowest = self.ceiling
        self._cuts = 0
        self._in_flight = 0
        self._held_until = 0.0
        self._failures = 0  # back-offs in a row, for the hold's length
        self._last_cut = float("-inf")
        self._clock = clock
        self._random = random.Random(seed)
        self._cond = threading.Condition()

    @property
    def limit(self) -> int:
        with self._cond:
            return max(1, int(self._limit))

    def state(self) -> LimitState:
        with self._cond:
            return LimitState(
                limit=max(1, int(self._limit)),
                ceiling=self.ceiling,
                in_flight=self._in_flight,
                lowest=self._lowest,
                cuts=self._cuts,
                held_for=max(0.0, self._held_until - self._clock()),
            )

    def raise_ceiling(self, ceiling: int) -> None:
        """A bigger experiment joined: let the limit climb that far."""
        with self._cond:
            if ceiling > self.ceiling:
                self.ceiling = ceiling
                self._cond.notify_all()

    def acquire(self, cancelled: Callable[[float], bool]) -> float | None:
        """Wait for a slot; the time the request may be sent (for ``backed_off``), or None
        when ``cancelled(timeout)`` (which waits up to ``timeout``) said to give up."""
        while True:
            with self._cond:
                now = self._clock()
                wait = self._held_until - now
                if wait <= 0 and self._in_flight < max(1, int(self._limit)):
                    self._in_flight += 1
                    return now
                if wait <= 0:
                    self._cond.wait(0.25)  # a slot frees (notify), or look again for a stop
                    wait = 0.0
            if cancelled(max(0.0, min(wait, 0.25))):
                return None

    def release(self) -> None:
        with self._cond:
            self._in_flight -= 1
            self._cond.notify_all()

    def succeeded(self) -> None:
        with self._cond:
            self._failures = 0
            self._limit = min(float(self.ceiling), self._limit + 1.0)
            self._cond.notify_all()

    def backed_off(self, sent_at: float) -> float:
        """The provider said slow down to a request sent at ``sent_at``: cut the limit (unless
        it was cut since that request was sent) and hold new requests back. Returns the hold."""
        with self._cond:
            now = self._clock()
            if sent_at >= self._last_cut:
                self._limit = max(1.0, self._limit / 2)
                self._lowest = min(self._lowest, max(1, int(self._limit)))
                self._cuts += 1
                self._last_cut = now
                self._failures += 1
                hold = min(MAX_BACKOFF, self.first_backoff * 2 ** (self._failures - 1))
                hold *= 0.5 + self._random.random() / 2  # jitter: replicas do not align
                self._held_until = max(self._held_until, now + hold)
            return max(0.0, self._held_until - now)


class ProviderLimits:
    """This process's ``ProviderLimit`` per endpoint (provider and base URL). Thread-safe."""

    def __init__(
        self, ceiling: int, clock: Clock = time.monotonic, first_backoff: float = FIRST_BACKOFF
    ):
        self.ceiling = ceiling
        self.first_backoff = first_backoff
        self._clock = clock
        self._lock = threading.Lock()
        self._limits: dict[tuple[str, str], ProviderLimit] = {}

    @staticmethod
    def key(bot: BotConfig) -> tuple[str, str]:
        return (bot.provider, bot.base_url or "")

    def for_bot(self, bot: BotConfig) -> ProviderLimit:
        with self._lock:
            key = self.key(bot)
            if key not in self._limits:
                self._limits[key] = ProviderLimit(
                    self.ceiling, self._clock, first_backoff=self.first_backoff
                )
            return self._limits[key]

    def raise_ceiling(self, ceiling: int) -> None:
        with self._lock:
            self.ceiling = max(self.ceiling, ceiling)
            for limit in self._limits.values():
                limit.raise_ceiling(ceiling)

    def states(self) -> dict[str, LimitState]:
        with self._lock:
            items = list(self._limits.items())
        return {f"{p}{' ' + u if u else ''}": lim.state() for (p, u), lim in items}


class LimitedProvider(Provider):
    """``inner`` behind ``limit``: see the module docstring."""

    def __init__(self, inner: Provider, limit: ProviderLimit, patience: float = PATIENCE):
        self.inner = inner
        self.limit = limit
        self.patience = patience
        self.name = getattr(inner, "name", "limited")

    def open(self, system: str, messages: list[Message], bot: BotConfig) -> ChunkStream:
        def chunks() -> Iterator[Chunk]:
            first_try = time.monotonic()
            while True:
                sent_at = self.limit.acquire(stream.wait_closed)
                if sent_at is None:
                    return  # stopped while waiting for a slot
                streamed = False
                try:
                    inner = self.inner.open(system, messages, bot)
                    stream.on_close(inner.close)
                    for chunk in inner:
                        streamed = True
                        yield chunk
                except BACKING_OFF:
                    self.limit.release()
                    if streamed or time.monotonic() - first_try > self.patience:
                        raise
                    hold = self.limit.backed_off(sent_at)
                    if stream.wait_closed(hold):
                        return
                    continue
                except BaseException:
                    self.limit.release()
                    raise
                self.limit.release()
                if not stream.closed:
                    self.limit.succeeded()
                return

        stream = ChunkStream(chunks())
        return stream


def limited(
    provider_for: Callable[[BotConfig], Provider],
    limits: ProviderLimits,
    patience: float = PATIENCE,
) -> Callable[[BotConfig], Provider]:
    """A provider factory whose providers wait for their endpoint's limit."""

    def make(bot: BotConfig) -> Provider:
        return LimitedProvider(provider_for(bot), limits.for_bot(bot), patience)

    return make
