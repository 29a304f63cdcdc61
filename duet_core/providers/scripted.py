"""A scriptable fake provider: queue replies, record calls. Used by tests and benchmarks."""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from duet_core.models import BotConfig
from duet_core.providers.base import (
    Chunk,
    ChunkStream,
    Finish,
    Message,
    Provider,
    TextDelta,
    Usage,
)


class Hold:
    """A reply item that blocks the stream until it is closed (or ``release()`` is called)."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self._released = threading.Event()

    def release(self) -> None:
        self._released.set()


@dataclass
class Call:
    system: str
    messages: list[Message]
    bot: BotConfig
    stream: ChunkStream | None = field(default=None, repr=False)


TOKENS = re.compile(r"\S+\s*|\s+")

ReplyItem = Chunk | Hold | BaseException | str


class ScriptedProvider(Provider):
    """Replies are taken in order; each is a string (streamed word by word) or a list of
    chunks, strings, ``Hold`` markers and exceptions (raised where they stand). With nothing
    queued, it answers ``default``."""

    name = "scripted"

    def __init__(self, default: str = "ok") -> None:
        self.default = default
        self.replies: deque[Sequence[ReplyItem]] = deque()
        self.calls: list[Call] = []
        self.called = threading.Condition()

    def enqueue(self, *replies: str | Sequence[ReplyItem]) -> ScriptedProvider:
        for reply in replies:
            self.replies.append([reply] if isinstance(reply, str) else list(reply))
        return self

    def wait_calls(self, n: int, timeout: float = 5.0) -> bool:
        with self.called:
            return self.called.wait_for(lambda: len(self.calls) >= n, timeout)

    def open(self, system: str, messages: list[Message], bot: BotConfig) -> ChunkStream:
        reply = self.replies.popleft() if self.replies else [self.default]
        call = Call(system, [dict(m) for m in messages], bot)  # type: ignore[misc]

        def chunks() -> Iterator[Chunk]:
            words = 0
            finished = False
            for item in reply:
                if isinstance(item, Hold):
                    item.reached.set()
                    while not item._released.is_set() and not stream.wait_closed(0.01):
                        pass
                    if stream.closed:
                        return
                elif isinstance(item, BaseException):
                    raise item
                elif isinstance(item, str):
                    for word in TOKENS.findall(item):
                        words += 1
                        yield TextDelta(word)
                else:
                    finished |= isinstance(item, Finish)
                    yield item
            if not finished:
                yield Usage(
                    input_tokens=sum(len(m["content"]) for m in messages), output_tokens=words
                )
                yield Finish("stop")

        stream = ChunkStream(chunks())
        call.stream = stream
        with self.called:
            self.calls.append(call)
            self.called.notify_all()
        return stream
