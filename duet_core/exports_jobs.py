"""Bulk exports in the background: a thread writes the file to a temporary folder while the
page shows its progress, then offers the finished file.

One ``ExportJobs`` per process (the app keeps it with its services). Each person has at most
one job; starting another, or discarding it, cancels the old one and deletes its file, and a
finished file is deleted ``KEEP_SECONDS`` after it was made. Nothing is held in memory but the
progress numbers: the file is read only when its download is asked for.
"""

from __future__ import annotations

import contextlib
import ctypes
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from duet_core.exports_bulk import MIME, export_to_file
from duet_core.store import RunQuery, Store

KEEP_SECONDS = 3600.0


class Cancelled(Exception):
    pass


def release_memory() -> None:
    """Give freed heap back to the system: glibc keeps each thread's arena at its high-water
    mark, so a server would otherwise stay as big as its biggest export."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)


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
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

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


class ExportJobs:
    def __init__(self, folder: Path | None = None):
        self.folder = folder or Path(tempfile.mkdtemp(prefix="duet-exports-"))
        self._lock = threading.Lock()
        self._jobs: dict[str, ExportJob] = {}  # by owner

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
        job_id = uuid.uuid4().hex[:12]
        job = ExportJob(job_id, owner, fmt, compress, self.folder / f"{job_id}.{fmt}")
        job.total = store.export_size(query)[1]

        def progress(done: int, total: int) -> None:
            job.done, job.total = done, total
            if job._cancel.is_set():
                raise Cancelled

        def work() -> None:
            try:
                export_to_file(
                    store,
                    query,
                    fmt,
                    str(job.path),
                    compress=compress,
                    spreadsheet_safe=spreadsheet_safe,
                    progress=progress,
                )
                job.state = "done"
            except Cancelled:
                job.state = "cancelled"
                job.path.unlink(missing_ok=True)
            except Exception as e:  # shown on the page; the app goes on
                job.state, job.error = "error", f"The export failed: {e}"
                job.path.unlink(missing_ok=True)
            finally:
                job.finished = time.monotonic()
                release_memory()

        job._thread = threading.Thread(target=work, name=f"duet-export-{job_id}", daemon=True)
        with self._lock:
            self._expire()
            self._jobs[owner] = job
        job._thread.start()
        return job

    def get(self, owner: str) -> ExportJob | None:
        with self._lock:
            self._expire()
            return self._jobs.get(owner)

    def discard(self, owner: str) -> None:
        """Cancel the owner's job (if it runs) and delete its file."""
        with self._lock:
            job = self._jobs.pop(owner, None)
        if job is not None:
            job._cancel.set()
            job.wait(30)
            job.path.unlink(missing_ok=True)

    def close(self) -> None:
        for owner in list(self._jobs):
            self.discard(owner)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _expire(self) -> None:
        now = time.monotonic()
        for owner, job in list(self._jobs.items()):
            if job.finished is not None and now - job.finished > KEEP_SECONDS:
                del self._jobs[owner]
                job.path.unlink(missing_ok=True)
