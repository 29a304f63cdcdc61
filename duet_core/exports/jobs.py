"""Bulk exports in the background: a child process writes the file to a temporary folder while
the page shows its progress, then the page offers the finished file.

Why a process, not a thread: what an export allocates (rows, records, the driver's buffers,
zlib's) would otherwise stay in the server's heap after it ends, freed but not given back. A
child process (``duet_core.exports.child``) takes all of it with it when it exits; a thread in
the server reads its progress reports. An in-memory SQLite database cannot be reached from
another process: its jobs run in a thread.

One ``ExportJobs`` per process (the app keeps it with its services). Each person has at most
one job; starting another, or discarding it, cancels the old one (its process is ended) and
deletes its file. A finished file is deleted ``KEEP_SECONDS`` after it was made, and a job that
no live page has been watching for ``UNWATCHED_SECONDS`` goes with its file (see ``watch``: the
app ties a job to the browser sessions that show it). ``close()`` ends every job and deletes the
folder. Nothing is held in memory but the progress numbers: the file is read only when its
download is asked for.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from duet_core.exports.bulk import MIME, export_to_file
from duet_core.exports.child import failure
from duet_core.models import new_id
from duet_core.store import RunQuery, Store

KEEP_SECONDS = 3600.0  # a finished file is deleted this long after it was made
UNWATCHED_SECONDS = 10.0  # a job no live page has watched for this long is dropped
SWEEP_SECONDS = 2.0  # how often the sweeper looks at the jobs
STOP_SECONDS = 10.0  # a cancelled child has this long to end before it is killed
PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder that holds duet_core


class Cancelled(Exception):
    pass


def release_memory() -> None:
    """Give freed heap back to the system (glibc keeps each thread's arena at its high-water
    mark): used after an in-process job."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def in_memory(store: Store) -> bool:
    url = store.url
    database = url.database or ""
    return url.get_backend_name() == "sqlite" and (
        database in ("", ":memory:") or url.query.get("mode") == "memory"
    )


@dataclass
class ExportJob:
    """One bulk export. ``state``: running, done, error or cancelled."""

    id: str
    owner: str
    fmt: str
    compress: bool
    path: Path
    total: int = 0  # turns to write
    done: int = 0  # turns written so far
    state: str = "running"
    error: str | None = None
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    pid: int | None = None  # the child process while it runs
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _process: subprocess.Popen | None = field(default=None, repr=False)
    _watchers: dict[str, Callable[[], bool]] = field(default_factory=dict, repr=False)
    _watched: float = field(default_factory=time.monotonic, repr=False)

    @property
    def file_name(self) -> str:
        return f"duet-runs.{self.fmt}" + (".gz" if self.compress else "")

    @property
    def mime(self) -> str:
        return "application/gzip" if self.compress else MIME[self.fmt]

    @property
    def fraction(self) -> float:
        return (
            1.0 if self.state == "done" else min(1.0, self.done / self.total if self.total else 0)
        )

    @property
    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the job has ended; True when it has."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.state != "running"

    def read(self) -> bytes:
        """The finished file (read on demand, for the download)."""
        return self.path.read_bytes()

    def _end(self, state: str, error: str | None = None) -> None:
        if self._cancel.is_set():
            state, error = "cancelled", None
        if state != "done":
            self.path.unlink(missing_ok=True)
        self.error, self.finished, self.pid = error, time.monotonic(), None
        self.state = state  # last: a reader that sees "done" sees the rest

    def _stop(self) -> None:
        """Cancel: end the child process (if any) and wait for the job to end."""
        self._cancel.set()
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
        self.wait(STOP_SECONDS + 5)
        self.path.unlink(missing_ok=True)

    def _is_watched(self, now: float) -> bool:
        """Whether a page still shows this job (or did within ``UNWATCHED_SECONDS``). A job
        nobody ever watched (started from Python) is kept."""
        if not self._watchers:
            return True
        if any(_holds(alive) for alive in list(self._watchers.values())):
            self._watched = now
        return now - self._watched <= UNWATCHED_SECONDS


def _holds(alive: Callable[[], bool]) -> bool:
    try:
        return bool(alive())
    except Exception:  # a broken check counts as gone
        return False


class ExportJobs:
    def __init__(self, folder: Path | None = None):
        self.folder = folder or Path(tempfile.mkdtemp(prefix="duet-exports-"))
        self._lock = threading.Lock()
        self._jobs: dict[str, ExportJob] = {}  # by owner
        self._sweeper: threading.Thread | None = None
        self._closed = threading.Event()

    def start(
        self,
        store: Store,
        query: RunQuery,
        fmt: str,
        owner: str,
        *,
        compress: bool = False,
        spreadsheet_safe: bool = False,
    ) -> ExportJob:
        """Start writing every run ``query`` matches; the owner's earlier job goes."""
        self.discard(owner)
        job_id = new_id("j")
        job = ExportJob(job_id, owner, fmt, compress, self.folder / f"{job_id}.{fmt}")
        job.total = store.export_size(query)[1]
        settings = {"fmt": fmt, "compress": compress, "spreadsheet_safe": spreadsheet_safe}
        if in_memory(store):
            target: Callable[[], None] = lambda: _run_in_thread(job, store, query, settings)  # noqa: E731
        else:
            spec = {
                "url": store.url.render_as_string(hide_password=False),
                "query": query.model_dump(mode="json"),
                "path": str(job.path),
                **settings,
            }
            target = lambda: _run_child(job, spec)  # noqa: E731
        job._thread = threading.Thread(target=target, name=f"duet-export-{job_id}", daemon=True)
        with self._lock:
            self._jobs[owner] = job
            if self._sweeper is None or not self._sweeper.is_alive():
                self._sweeper = threading.Thread(
                    target=self._sweep, name="duet-export-sweeper", daemon=True
                )
                self._sweeper.start()
        job._thread.start()
        return job

    def get(self, owner: str) -> ExportJob | None:
        with self._lock:
            return self._jobs.get(owner)

    def watch(self, owner: str, key: str, alive: Callable[[], bool]) -> None:
        """Keep the owner's job while ``alive()`` (say, "the browser session ``key`` is still
        connected") holds for some watcher; when none has for ``UNWATCHED_SECONDS``, the job
        is cancelled and its file deleted."""
        job = self.get(owner)
        if job is not None:
            job._watchers[key] = alive
            job._watched = time.monotonic()

    def discard(self, owner: str) -> None:
        """Cancel the owner's job (if it runs) and delete its file."""
        with self._lock:
            job = self._jobs.pop(owner, None)
        if job is not None:
            job._stop()

    def close(self) -> None:
        """End every job and delete the folder (the app calls it when it exits)."""
        self._closed.set()
        for owner in list(self._jobs):
            self.discard(owner)
        shutil.rmtree(self.folder, ignore_errors=True)

    def sweep(self, now: float | None = None) -> None:
        """Drop the jobs kept too long or no longer watched (the sweeper does it every
        ``SWEEP_SECONDS``)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            gone = [
                self._jobs.pop(owner)
                for owner, job in list(self._jobs.items())
                if (job.finished is not None and now - job.finished > KEEP_SECONDS)
                or not job._is_watched(now)
            ]
        for job in gone:
            job._stop()

    def _sweep(self) -> None:
        while not self._closed.wait(SWEEP_SECONDS):
            self.sweep()
            with self._lock:
                if not self._jobs:
                    self._sweeper = None
                    return


def _run_in_thread(job: ExportJob, store: Store, query: RunQuery, settings: dict) -> None:
    """The job in this process (an in-memory database, which no other process can open)."""

    def progress(done: int, total: int) -> None:
        job.done, job.total = done, total
        if job._cancel.is_set():
            raise Cancelled

    try:
        export_to_file(store, query, path=str(job.path), progress=progress, **settings)
        job._end("done")
    except Cancelled:
        job._end("cancelled")
    except Exception as e:  # shown on the page; the app goes on
        job._end("error", failure(e))
    finally:
        release_memory()


def _run_child(job: ExportJob, spec: dict[str, Any]) -> None:
    """The job in a child process, started from this thread (the child ends when the thread
    that started it does: see ``_die_with_parent``), then its reports read until it exits."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p
    )
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "duet_core.exports.child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
    except OSError as e:
        job._end("error", failure(e))
        return
    job._process, job.pid = process, process.pid
    if job._cancel.is_set():  # cancelled while it started: _stop may have missed it
        process.terminate()
    assert process.stdin is not None and process.stdout is not None
    with contextlib.suppress(BrokenPipeError):  # it died at once: its exit code says so
        process.stdin.write(json.dumps({**spec, "parent": os.getpid()}).encode())
        process.stdin.close()
    outcome: dict[str, Any] = {}
    for line in process.stdout:
        with contextlib.suppress(ValueError):
            report = json.loads(line)
            if isinstance(report, dict) and "done" in report:
                job.done, job.total = report["done"], report["total"]
            elif isinstance(report, dict):
                outcome = report
    code = process.wait()
    process.stdout.close()
    if code == 0 and "turns" in outcome:
        job.done = outcome["turns"]
        job._end("done")
    elif "error" in outcome:
        job._end("error", outcome["error"])
    else:
        job._end("error", f"The export stopped unexpectedly (exit code {code}). Try again.")
