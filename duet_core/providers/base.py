"""What every provider streams, and the stream handle the engine can close from another thread."""

from __future__ import annotations

import contextlib
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from duet_core.models import BotConfig


class Message(TypedDict):
    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ThinkingDelta:
    text: str


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class Finish:
    reason: str  # "stop", "length", or the provider's own word


Chunk = TextDelta | ThinkingDelta | Usage | Finish


class ChunkStream:
    """An iterator of chunks with a thread-safe, idempotent ``close()``.

    ``close()`` may be called from any thread while another thread iterates: it runs the
    provider's ``on_close`` (which closes the HTTP response) and the iterating thread then
    ends quietly, whatever the transport raised because of the close.

    ``started_at`` is the ``time.perf_counter()`` at which iteration began, i.e. when the
    request was sent: time to first token and latency count from there, never from before
    the provider (and its SDK) was made.
    """

    def __init__(self, chunks: Iterator[Chunk]):
        self._chunks = chunks
        self.started_at: float | None = None
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._on_close: list[Callable[[], None]] = []

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def wait_closed(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds, waking at once when the stream is closed."""
        return self._closed.wait(timeout)

    def on_close(self, fn: Callable[[], None]) -> None:
        """Register ``fn`` to run on close (at once when already closed)."""
        with self._lock:
            if not self._closed.is_set():
                self._on_close.append(fn)
                return
        fn()

    def close(self) -> None:
        with self._lock:
            if self._closed.is_set():
                return
            self._closed.set()
            callbacks, self._on_close = self._on_close, []
        for fn in callbacks:
            with contextlib.suppress(Exception):  # closing must never raise into the caller
                fn()

    def __iter__(self) -> Iterator[Chunk]:
        if self.started_at is None:
            self.started_at = time.perf_counter()
        try:
            for chunk in self._chunks:
                if self._closed.is_set():
                    break
                yield chunk
        except Exception:
            if not self._closed.is_set():
                raise
        finally:
            self.close()
            close_chunks = getattr(self._chunks, "close", None)
            if close_chunks is not None:
                close_chunks()

    def __enter__(self) -> ChunkStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Provider(ABC):
    """One request format. ``open`` returns at once; the request is made while iterating."""

    name: str

    @abstractmethod
    def open(self, system: str, messages: list[Message], bot: BotConfig) -> ChunkStream:
        """Stream a reply to ``messages`` (strictly alternating, starting and ending with user)."""

    def open_json(
        self, system: str, messages: list[Message], bot: BotConfig, schema: dict[str, Any]
    ) -> ChunkStream:
        """Like ``open``, asking for a JSON reply that fits ``schema`` (a JSON Schema object)
        where the provider can (JSON mode, structured outputs). A provider that cannot has only
        the prompt's own instruction: this default sends the request as ``open`` does. The
        reply is text either way; the caller parses and checks it."""
        return self.open(system, messages, bot)
