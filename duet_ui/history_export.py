"""'Export all filtered runs' on the History page.

Up to ``BULK_INLINE_TURNS`` turns, each button builds its file when pressed. Past that, a
button starts a background job (``duet_core.exports_jobs``): a fragment shows its progress bar
while it runs, then offers the finished file, optionally gzip-compressed. The file is read
from disk only when its download is pressed, and deleted when discarded or replaced.
"""

from __future__ import annotations

import streamlit as st

from duet_core.exports_jobs import ExportJob, ExportJobs
from duet_core.store import RunQuery, Store
from duet_ui import history_data as hd

FORMATS = {"csv": "CSV", "json": "JSON", "jsonl": "JSON Lines"}
PROGRESS_EVERY = 0.5  # seconds between progress bar refreshes


@st.cache_resource
def export_jobs() -> ExportJobs:
    """One per process: the jobs outlive a page's reruns and are found again by owner."""
    return ExportJobs()


def export_panel(
    store: Store, query: RunQuery, owner: str, runs: int, spreadsheet_safe: bool
) -> None:
    turns = hd.cached_turn_count(st.session_state, store, query) if runs else 0
    with st.expander(f"⬇ Export all {runs:,} filtered runs ({turns:,} turns)"):
        if runs == 0:
            st.caption("No runs match the filters.")
            return
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
            data=job.read,  # read from disk when pressed
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
def _progress(job: ExportJob) -> None:
    if job.state != "running":
        st.rerun()  # done: the whole panel shows the download
    st.progress(job.fraction, text=f"Writing {job.done:,} of {job.total:,} turns…")
    if st.button("Cancel", key="export_cancel"):
        export_jobs().discard(job.owner)
        st.rerun()
