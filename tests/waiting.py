"""Waiting in tests: poll a condition until it holds, with a deadline (never a bare sleep)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

POLL = 0.02  # seconds between looks


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """``predicate()``'s first truthy value; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()  # never set: wait(POLL) is the pause between looks
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        pause.wait(POLL)
    return value
