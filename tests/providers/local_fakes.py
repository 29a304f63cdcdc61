"""Helpers for the local provider's tests: a provider on the fake server, and waiting on
processes (a pidfd says when a process has ended, with no polling)."""

from __future__ import annotations

import os
import select
import sys
import time
from collections.abc import Callable
from pathlib import Path

from duet_core.providers.local import LocalProvider
from duet_core.providers.local_server import LLAMA_CPP_PYTHON, LLAMA_SERVER
from duet_core.run.events import Event, Subscription

FAKE_SERVER = Path(__file__).with_name("fake_llama_server.py")


def fake_provider(tmp_path: Path, *options: str, flavour: str = "llama_cpp", **kw) -> LocalProvider:
    """A local provider whose server is fake_llama_server.py (``options`` are its own)."""
    model = tmp_path / "fake.gguf"
    model.write_bytes(b"GGUF")
    kind = LLAMA_SERVER if flavour == "llama-server" else LLAMA_CPP_PYTHON
    command = [sys.executable, str(FAKE_SERVER), "--flavour", flavour, *options]
    return LocalProvider(model, command=command, kind=kind, **kw)


def running(pid: int) -> bool:
    """Whether process ``pid`` exists and has not ended (a zombie has ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_ended(pid: int, timeout: float) -> bool:
    """Wait until process ``pid`` has ended (True), or ``timeout`` passed (False)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([fd], [], [], timeout)
        return bool(readable)
    finally:
        os.close(fd)


def next_event(sub: Subscription, wanted: Callable[[Event], bool], timeout: float) -> Event:
    """The next event of ``sub`` that ``wanted`` accepts (AssertionError after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        event = sub.get(timeout=left)
        if event is not None and wanted(event):
            return event
    raise AssertionError(f"no such event within {timeout} s")
