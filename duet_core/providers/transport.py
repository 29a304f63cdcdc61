"""HTTP plumbing that lets another thread abort an SDK request at once.

Closing an httpx2 response from another thread does not wake a thread that is blocked reading
its socket: that thread sleeps on until the read timeout, and the server sees nothing either.
``socket.shutdown`` does wake it, and sends the server a FIN at once. So while an
:class:`Aborter` is active on a thread, every request that thread sends reports its sockets to
the aborter (through httpcore's ``trace`` extension), and ``Aborter.abort()``, callable from any
thread, shuts them down. That covers the whole request: connecting, waiting for the first byte,
the SDK's own retries, and reading the stream.

Connections are not kept alive (``NO_KEEPALIVE``): every request opens its own connection, so
the aborter always sees the socket a request uses. On the scale of a model's reply, one TCP/TLS
handshake per turn costs nothing noticeable.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx2

NO_KEEPALIVE = httpx2.Limits(max_connections=100, max_keepalive_connections=0)

_SOCKET_EVENTS = ("connect_tcp.complete", "start_tls.complete")
_active = threading.local()

TraceFn = Callable[[str, dict[str, Any]], None]


class RequestAborted(BaseException):
    """Raised out of an SDK call whose request was aborted.

    A ``BaseException``, like ``asyncio.CancelledError``: the SDKs' retry loops catch
    ``Exception``, so an aborted request is not retried but ends the call at once.
    """


class Aborter:
    """Shuts down the sockets of the requests made while it is active; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._streams: list[Any] = []  # httpcore network streams
        self._aborted = False

    @property
    def aborted(self) -> bool:
        return self._aborted

    def abort(self) -> None:
        """Wake any thread reading this aborter's sockets; later requests fail at once."""
        with self._lock:
            self._aborted = True
            streams, self._streams = self._streams, []
        for stream in streams:
            _shutdown(stream)

    def check(self) -> None:
        if self._aborted:
            raise RequestAborted

    @contextmanager
    def active(self) -> Iterator[Aborter]:
        """Track the requests this thread sends inside the ``with`` block."""
        previous = getattr(_active, "aborter", None)
        _active.aborter = self
        try:
            yield self
        finally:
            _active.aborter = previous

    def tracer(self, inner: TraceFn | None) -> TraceFn:
        """An httpcore ``trace`` callback that hands each new socket to this aborter."""

        def trace(event: str, info: dict[str, Any]) -> None:
            if event.endswith(_SOCKET_EVENTS) and info.get("return_value") is not None:
                self._track(info["return_value"])
            if inner is not None:
                inner(event, info)

        return trace

    def _track(self, stream: Any) -> None:
        with self._lock:
            if not self._aborted:
                self._streams.append(stream)
                return
        _shutdown(stream)


def _shutdown(stream: Any) -> None:
    try:
        sock = stream.get_extra_info("socket")
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:  # already closed (or detached when TLS wrapped it)
        pass


def current_aborter() -> Aborter | None:
    return getattr(_active, "aborter", None)


class AbortableSend:
    """Mixin for an ``httpx2.Client`` subclass: requests obey the thread's active Aborter."""

    def send(self, request: httpx2.Request, **kwargs: Any) -> httpx2.Response:
        aborter = current_aborter()
        if aborter is None:
            return super().send(request, **kwargs)  # type: ignore[misc]
        aborter.check()
        request.extensions["trace"] = aborter.tracer(request.extensions.get("trace"))
        try:
            return super().send(request, **kwargs)  # type: ignore[misc]
        except Exception:
            if aborter.aborted:
                raise RequestAborted from None
            raise
