"""What the SDK-backed providers share: the request lifecycle, Stop, and error mapping.

A subclass says how to build the request (``build_request``), send it (``send``) and turn the
SDK's stream into chunks (``read``); this class makes the request lazily while the engine
iterates, lets ``ChunkStream.close()`` abort it from any thread at any point, and turns the
SDK's exceptions into Duet's errors.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator
from typing import Any, NoReturn

from duet_core.errors import AuthenticationFailed
from duet_core.models import BotConfig
from duet_core.providers.base import Chunk, ChunkStream, Message, Provider
from duet_core.providers.errors_map import Where, map_error
from duet_core.providers.transport import Aborter, RequestAborted


class SDKProvider(Provider):
    """A provider that streams through one of the vendor SDKs."""

    where: Where  # set by the subclass: labels and settings for error messages

    def open(self, system: str, messages: list[Message], bot: BotConfig) -> ChunkStream:
        request = self.build_request(system, messages, bot)
        aborter = Aborter()
        stream = ChunkStream(self._run(request, bot, aborter))
        stream.on_close(aborter.abort)
        return stream

    @abstractmethod
    def build_request(self, system: str, messages: list[Message], bot: BotConfig) -> dict:
        """The keyword arguments of the SDK call."""

    @abstractmethod
    def send(self, request: dict) -> Any:
        """Make the SDK call; returns the SDK's stream once the response headers arrived."""

    @abstractmethod
    def read(self, sdk_stream: Any) -> Iterator[Chunk]:
        """The chunks of an SDK stream; raises StreamInterrupted on an early clean close."""

    def _run(self, request: dict, bot: BotConfig, aborter: Aborter) -> Iterator[Chunk]:
        if aborter.aborted:  # closed before the first chunk was asked for: no request at all
            return
        try:
            with aborter.active():
                sdk_stream = self.send(request)
        except RequestAborted:
            return
        except Exception as e:
            if aborter.aborted:
                return
            self._raise_mapped(e, bot, started=False)
        try:
            yield from self.read(sdk_stream)
        except Exception as e:
            if aborter.aborted:  # what the transport raises because of Stop is no failure
                return
            self._raise_mapped(e, bot, started=True)
        finally:
            sdk_stream.close()

    def _raise_mapped(self, exc: Exception, bot: BotConfig, *, started: bool) -> NoReturn:
        mapped = map_error(exc, self.where, bot.model, started=started)
        if mapped is None or mapped is exc:
            raise exc
        # The server's text in an auth error may echo part of the key: keep it out of tracebacks.
        raise mapped from (None if isinstance(mapped, AuthenticationFailed) else exc)
