"""The child process of a background bulk export (``duet_core.exports.jobs``).

    python -m duet_core.exports.child   < spec (JSON)   > reports (JSON lines)

The spec comes on stdin, so no database password shows in ``ps``: ``url``, ``query`` (a
``RunQuery``), ``fmt``, ``path``, ``compress``, ``spreadsheet_safe`` and ``parent`` (the server's
pid). The child writes ``{"done": n, "total": m}`` lines as it goes (at most every
``PROGRESS_SECONDS``), then ``{"turns": n}`` (exit 0) or ``{"error": "one line"}`` (exit 1). It
ends when the server does, and deletes an unfinished file when it is told to stop (SIGTERM).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import IO, Any

from duet_core.errors import DuetError
from duet_core.exports.bulk import export_to_file
from duet_core.store import RunQuery, Store

PROGRESS_SECONDS = 0.2


def failure(e: BaseException) -> str:
    """One line for the page: a DuetError's own message, else what went wrong."""
    if isinstance(e, DuetError):
        return str(e)
    if isinstance(e, OSError) and e.strerror:
        return f"The export failed: {e.strerror}."
    return f"The export failed: {type(e).__name__}: {e}"


def _die_with_parent(parent: int) -> None:
    """Ask Linux to end this process when the server does (PR_SET_PDEATHSIG: strictly, when
    the server's thread that started it ends, which is the job's own thread)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    if os.getppid() != parent:  # the server was already gone
        raise SystemExit(1)


def _report(out: IO[str], **message: Any) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


def run_export(spec: dict[str, Any], out: IO[str]) -> int:
    """One export as ``ExportJobs`` describes it in ``spec``, its reports written to ``out``;
    the exit code. A file left unfinished is deleted."""
    path = Path(spec["path"])
    last = 0.0

    def progress(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= PROGRESS_SECONDS:
            last = now
            _report(out, done=done, total=total)

    finished = False
    try:
        store = Store(spec["url"], must_exist=True)
        try:
            turns = export_to_file(
                store,
                RunQuery.model_validate(spec["query"]),
                spec["fmt"],
                str(path),
                compress=spec["compress"],
                spreadsheet_safe=spec["spreadsheet_safe"],
                progress=progress,
            )
        finally:
            store.close()
        finished = True
        _report(out, turns=turns)
        return 0
    except Exception as e:
        _report(out, error=failure(e))
        return 1
    finally:
        if not finished:
            path.unlink(missing_ok=True)


def child_main() -> int:
    """``python -m duet_core.exports.child``: the spec on stdin, reports on stdout."""
    spec = json.loads(sys.stdin.read())
    _die_with_parent(spec["parent"])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run_export's finally deletes
    return run_export(spec, sys.stdout)


if __name__ == "__main__":
    sys.exit(child_main())
