"""'Export all filtered runs' on the History page.

Up to ``BULK_INLINE_TURNS`` turns, each button builds its file when pressed. Past that, a
button starts a background job (``duet_core.exports.jobs``, a child process): a fragment shows
its progress bar while it runs, then offers the finished file, optionally gzip-compressed. The
file is read from disk only when its download is pressed, and deleted when discarded or
replaced, or soon after the last browser session showing it has gone (``ExportJobs.watch``).

Where a download's memory goes (bench/export_memory.py): the file is read into Streamlit's
in-memory media storage, which keeps it until two script runs have ended after it (the first
marks it unused, the second deletes it), on a quiet server never; a plain (not .gz) file is
gzip-compressed again by Streamlit's HTTP middleware on every download; and what the
compression and the socket's write buffer freed stays in glibc's heap. ``_forget_served``
runs the two sweeps itself seconds after the file was read, then, once the download is no
longer referenced (sent), gives the freed heap back (``malloc_trim``) a few times while the
socket drains. The server's memory goes back down after each download.
"""

from __future__ import annotations

import atexit
import contextlib
import sys
import threading
import time
from collections.abc import Callable

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from duet_core.exports.jobs import ExportJob, ExportJobs, release_memory
from duet_core.store import RunQuery, Store
from duet_ui.history import data as hd
from duet_ui.shell.errors import guarded

FORMATS = {"csv": "CSV", "json": "JSON", "jsonl": "JSON Lines"}
PROGRESS_EVERY = 0.5  # seconds between progress bar refreshes
# After a download was read: when to mark it unused in Streamlit's media storage, then when to
# delete it. The browser fetches the file right after it was read, well within the first; a
# fetch under way keeps its own reference to the bytes and completes.
FORGET_SERVED_AFTER = (5.0, 10.0)
# Once the download is no longer referenced (sent): when to give freed heap back, in seconds
# (the socket's write buffer drains after the body was handed over). Gone-yet checks: every
# SENT_POLL seconds for at most SENT_WAIT.
TRIM_AFTER_SENT = (0.0, 5.0, 30.0)
SENT_POLL, SENT_WAIT = 0.5, 3600.0


@st.cache_resource
def export_jobs() -> ExportJobs:
    """One per process: the jobs outlive a page's reruns and are found again by owner; their
    processes and files go when the server exits."""
    jobs = ExportJobs()
    atexit.register(jobs.close)
    return jobs


def _watch(owner: str) -> None:
    """Tie the owner's job to this browser session: once no session showing it is connected
    any more, the job is cancelled and its file deleted (``ExportJobs.watch``)."""
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None or not Runtime.exists():
        return
    session_id, runtime = ctx.session_id, Runtime.instance()
    export_jobs().watch(owner, session_id, lambda: runtime.is_active_session(session_id))


def _served(job: ExportJob) -> Callable[[], bytes]:
    """The download's data, read from disk when the button is pressed."""

    def read() -> bytes:
        data = job.read()
        _forget_served(data)
        return data

    return read


def _forget_served(data: bytes) -> None:
    """Sweep Streamlit's media storage twice, ``FORGET_SERVED_AFTER`` seconds from now, as the
    end of two script runs would (a served download no page refers to is then deleted); then,
    once nothing but this holds ``data`` (its download has been sent), let it go and give the
    freed heap back, ``TRIM_AFTER_SENT``."""
    if not Runtime.exists():
        return
    media = Runtime.instance().media_file_mgr
    held = [data]  # this thread's only reference: getrefcount == 2 once every other is gone

    def forget() -> None:
        started = time.monotonic()
        for at in FORGET_SERVED_AFTER:
            time.sleep(max(0.0, started + at - time.monotonic()))
            with contextlib.suppress(Exception):  # a server shutting down: nothing to keep
                media.remove_orphaned_files()
        while sys.getrefcount(held[0]) > 2 and time.monotonic() - started < SENT_WAIT:
            time.sleep(SENT_POLL)
        held.clear()
        sent = time.monotonic()
        for at in TRIM_AFTER_SENT:
            time.sleep(max(0.0, sent + at - time.monotonic()))
            release_memory()

    threading.Thread(target=forget, name="duet-forget-download", daemon=True).start()


def export_panel(
    store: Store, query: RunQuery, owner: str, runs: int, spreadsheet_safe: bool
) -> None:
    turns = hd.cached_turn_count(st.session_state, store, query) if runs else 0
    with st.expander(
        f"Export all {runs:,} filtered runs ({turns:,} turns)", icon=":material/download:"
    ):
        if runs == 0:
            st.caption("No runs match the filters.")
            return
        _watch(owner)
        job = export_jobs().get(owner)
        if turns <= hd.BULK_INLINE_TURNS and job is None:
            _inline_buttons(store, query, spreadsheet_safe)
            return
        compress = st.toggle("Compress (.gz)", key="export_compress", value=True)
        cols = st.columns(len(FORMATS))
        for column, (fmt, label) in zip(cols, FORMATS.items(), strict=True):
            if column.button(f"Prepare {label}", key=f"export_start_{fmt}"):
                export_jobs().start(
                    store,
                    hd.export_query(query),
                    fmt,
                    owner,
                    compress=compress,
                    spreadsheet_safe=spreadsheet_safe,
                )
                _watch(owner)
        _job_status(owner)


def _inline_buttons(store: Store, query: RunQuery, spreadsheet_safe: bool) -> None:
    cols = st.columns(len(FORMATS))
    for column, (fmt, label) in zip(cols, FORMATS.items(), strict=True):
        column.download_button(
            label,
            data=hd.bulk_export(store, query, fmt, spreadsheet_safe if fmt == "csv" else False),
            file_name=f"duet-runs.{fmt}",
            mime={"csv": "text/csv", "json": "application/json"}.get(fmt, "application/jsonl"),
            on_click="ignore",
            key=f"download_all_{fmt}",
        )


def _job_status(owner: str) -> None:
    job = export_jobs().get(owner)
    if job is None:
        return
    if job.state == "running":
        _progress(job)
        return
    if job.state == "done":
        st.download_button(
            f"Download {job.file_name} ({job.size / 2**20:,.1f} MB)",
            data=_served(job),  # read from disk when pressed
            file_name=job.file_name,
            mime=job.mime,
            on_click="ignore",
            key="download_export_file",
            type="primary",
        )
    elif job.state == "error":
        st.error(job.error)
    else:
        st.caption("Export cancelled.")
    if st.button("Discard", key="export_discard"):
        export_jobs().discard(owner)
        st.rerun()


@st.fragment(run_every=PROGRESS_EVERY)
@guarded
def _progress(job: ExportJob) -> None:
    if job.state != "running":
        st.rerun()  # done: the whole panel shows the download
    st.progress(job.fraction, text=f"Writing {job.done:,} of {job.total:,} turns…")
    if st.button("Cancel", key="export_cancel"):
        export_jobs().discard(job.owner)
        st.rerun()
