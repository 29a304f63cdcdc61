"""One process-wide asyncio event loop, on its own daemon thread, for the SDKs' async clients.

Every SDK request of the process runs as a task on this loop. That gives two things a
thread-per-request design cannot have at once:

- **Stop at once**: cancelling a task interrupts whatever it awaits (connecting, waiting for
  the first byte, a retry's back-off, a stream read), and the HTTP client then closes that
  connection, so the server sees the disconnect.
- **Keep-alive**: a response read to its end goes back to the client's connection pool, so the
  next turn skips the TCP and TLS handshakes.

Clients made for this loop must only be used on it (``run_coroutine`` does that).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def loop() -> asyncio.AbstractEventLoop:
    """The running provider loop, started on first use."""
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            ready = threading.Event()
            new_loop = asyncio.new_event_loop()

            def run() -> None:
                asyncio.set_event_loop(new_loop)
                new_loop.call_soon(ready.set)
                new_loop.run_forever()

            threading.Thread(target=run, name="duet-providers", daemon=True).start()
            ready.wait()
            _loop = new_loop
        return _loop


def run_coroutine(coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
    """Schedule ``coro`` on the provider loop; ``cancel()`` on the result cancels the task."""
    return asyncio.run_coroutine_threadsafe(coro, loop())


def run_sync(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run ``coro`` on the provider loop and wait for its result (not from the loop itself)."""
    return run_coroutine(coro).result(timeout)
