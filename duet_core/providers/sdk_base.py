"""What the SDK-backed providers share: the request lifecycle, Stop, stalls and error mapping.

A subclass says how to build the request (``build_request``), send it with the SDK's async
client (``send``) and turn the SDK's stream into chunks (``read``, an async generator). This
class runs each request as a task on the provider event loop (event_loop.py) and hands the
chunks to the engine's thread through a queue:

- ``ChunkStream.close()`` from any thread cancels the task: whatever it awaits (connecting,
  the first byte, a retry's back-off, a stream read) ends at once, the HTTP client closes the
  connection, and the reading thread is woken at once.
- A reply read to its end leaves its connection in the client's pool (keep-alive), so the next
  turn skips the TCP/TLS handshakes.
- A stream that sends nothing but keep-alive comments or ``ping`` events is cut after the
  *content* stall limit (``stall_timeout``): the HTTP read timeout alone never fires on it.
- The chunks that one network read brings are handed over together, their text joined
  (``Batch``): the engine's thread wakes once per read, not once per token. With a hundred
  runs streaming in one process each wake-up is a fight for the GIL with the loop that
  parses every stream.
"""

from __future__ import annotations

import asyncio
import queue
from abc import abstractmethod
from collections.abc import AsyncIterator, Iterator
from typing import Any, NoReturn

import httpx2

from duet_core.errors import AuthenticationFailed, StreamStalled
from duet_core.models import BotConfig
from duet_core.providers import event_loop
from duet_core.providers.base import (
    Chunk,
    ChunkStream,
    Message,
    Provider,
    TextDelta,
    ThinkingDelta,
)
from duet_core.providers.errors_map import Where, map_error

DEFAULT_STALL_TIMEOUT = 300.0  # seconds: long enough for a thinking model's first words
STALL_ENV = "DUET_STALL_TIMEOUT"
# An idle connection stays in the pool this long: the other bot's turn usually comes between
# two turns of the same client, and lasts seconds to a minute. The sizes are the SDKs' own
# defaults: an experiment runs a hundred streams at once through one client, and a pool of
# exactly a hundred made requests wait for a connection until they timed out (a stream's
# connection goes back to the pool a moment after its last chunk).
KEEPALIVE = httpx2.Limits(max_connections=1000, max_keepalive_connections=100, keepalive_expiry=90)

_END = object()


class Batch:
    """The chunks that arrived together, gathered on the loop until it next waits for the
    network (``call_soon`` runs ``flush`` then), with adjacent deltas of one kind joined
    (unless ``join`` is False: one chunk a token, for a caller that counts them)."""

    def __init__(self, handoff: queue.SimpleQueue, join: bool = True) -> None:
        self._handoff = handoff
        self._join = join
        self._chunks: list[Chunk] = []

    def add(self, chunk: Chunk) -> None:
        chunks = self._chunks
        if not chunks:
            asyncio.get_running_loop().call_soon(self.flush)
        elif (
            self._join
            and type(chunk) is type(chunks[-1])
            and isinstance(chunk, TextDelta | ThinkingDelta)
        ):
            chunks[-1] = type(chunk)(chunks[-1].text + chunk.text)
            return
        chunks.append(chunk)

    def flush(self) -> None:
        if self._chunks:
            self._handoff.put(self._chunks)
            self._chunks = []

    def put(self, item: Any) -> None:
        """Hand over what is gathered, then ``item`` (an error or the end)."""
        self.flush()
        self._handoff.put(item)


def http_timeout(timeout: float) -> httpx2.Timeout:
    """The HTTP timeouts: ``timeout`` for each read, at most 10 s to connect."""
    return httpx2.Timeout(timeout, connect=min(timeout, 10.0))


class SDKProvider(Provider):
    """A provider that streams through one of the vendor SDKs' async clients."""

    where: Where  # set by the subclass: labels and settings for error messages
    stall: float = DEFAULT_STALL_TIMEOUT  # seconds without content before a stream is cut
    joins_deltas: bool = True  # adjacent text that arrived together is handed over as one

    def open(self, system: str, messages: list[Message], bot: BotConfig) -> ChunkStream:
        return self._open(self.build_request(system, messages, bot), bot)

    def open_json(
        self, system: str, messages: list[Message], bot: BotConfig, schema: dict[str, Any]
    ) -> ChunkStream:
        return self._open(
            self.ask_json(self.build_request(system, messages, bot), bot, schema), bot
        )

    def ask_json(self, request: dict, bot: BotConfig, schema: dict[str, Any]) -> dict:
        """``request`` asking for a JSON reply that fits ``schema``; unchanged by default (the
        format or model has no such option)."""
        return request

    def _open(self, request: dict, bot: BotConfig) -> ChunkStream:
        stream: ChunkStream

        def chunks() -> Iterator[Chunk]:
            handoff: queue.SimpleQueue[Any] = queue.SimpleQueue()
            task = event_loop.run_coroutine(self._pump(request, bot, handoff))
            stream.on_close(task.cancel)  # cancel the request wherever it is
            stream.on_close(lambda: handoff.put(_END))  # and wake this thread at once
            try:
                while (item := handoff.get()) is not _END:
                    if isinstance(item, BaseException):
                        raise item
                    yield from item
            finally:
                task.cancel()

        stream = ChunkStream(chunks())
        return stream

    @abstractmethod
    def build_request(self, system: str, messages: list[Message], bot: BotConfig) -> dict:
        """The keyword arguments of the SDK call."""

    @abstractmethod
    async def send(self, request: dict) -> Any:
        """Make the SDK call; returns the SDK's stream once the response headers arrived."""

    @abstractmethod
    def read(self, sdk_stream: Any) -> AsyncIterator[Chunk]:
        """The chunks of an SDK stream; raises StreamInterrupted on an early clean close."""

    async def _pump(self, request: dict, bot: BotConfig, handoff: queue.SimpleQueue) -> None:
        """Send the request and put every chunk (in batches), then an error or the end, on
        ``handoff``."""
        batch = Batch(handoff, self.joins_deltas)
        sdk_stream = None
        limit: asyncio.Timeout | None = None
        started = False
        try:
            sdk_stream = await self.send(request)
            started = True
            async with asyncio.timeout(self.stall) as limit:
                async for chunk in self.read(sdk_stream):
                    limit.reschedule(asyncio.get_running_loop().time() + self.stall)
                    batch.add(chunk)
        except TimeoutError as e:
            if limit is not None and limit.expired():
                batch.put(self._stalled())
            else:
                batch.put(self._mapped(e, bot, started=started))
        except asyncio.CancelledError:
            raise  # Stop: the reading thread has already been woken
        except Exception as e:
            batch.put(self._mapped(e, bot, started=started))
        finally:
            batch.flush()
            if sdk_stream is not None:
                await sdk_stream.close()  # a reply read to its end keeps its connection
            handoff.put(_END)

    def _stalled(self) -> StreamStalled:
        return StreamStalled(
            f"{self.where.subject} sent no text for {self.stall:g} s (only keep-alive"
            f" messages). Try again; if this model thinks longer than that, raise {STALL_ENV}."
        )

    def _mapped(self, exc: Exception, bot: BotConfig, *, started: bool) -> BaseException:
        mapped = map_error(exc, self.where, bot.model, started=started)
        if mapped is None or mapped is exc:
            return exc
        # The server's text in an auth error may echo part of the key: keep it out of tracebacks.
        mapped.__cause__ = None if isinstance(mapped, AuthenticationFailed) else exc
        mapped.__suppress_context__ = True
        return mapped

    def _raise_mapped(self, exc: Exception, bot: BotConfig, *, started: bool) -> NoReturn:
        raise self._mapped(exc, bot, started=started)
