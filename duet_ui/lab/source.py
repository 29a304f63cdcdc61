"""The Prompt Lab's source picker: a saved run the viewer may see, an uploaded transcript JSON,
or a fixture file. Reads only; the loaded source is kept in this session."""

from __future__ import annotations

import streamlit as st

from duet_core.errors import DuetError
from duet_core.lab import sources as lab_sources
from duet_core.lab.sources import LabSource
from duet_core.store import RunQuery
from duet_ui.shared.transcript import escape_markdown
from duet_ui.shell.services import Services, Viewer

KINDS = {"run": "Saved run", "upload": "Upload a transcript", "fixture": "Fixture"}
RECENT_RUNS = 200
LOADED_KEY = "_lab_loaded"  # (what was asked for, the LabSource)


def _run_label(summary) -> str:
    topic = " ".join(summary.topic.split())
    topic = topic if len(topic) <= 60 else topic[:59] + "…"
    return f"{topic} · {summary.id} · {summary.created_at:%Y-%m-%d %H:%M}"


def _keep(asked: tuple, load) -> LabSource | None:
    """The source for ``asked`` (loaded once per session, until something else is asked)."""
    loaded = st.session_state.get(LOADED_KEY)
    if loaded is not None and loaded[0] == asked:
        return loaded[1]
    try:
        source = load()
    except DuetError as e:
        st.error(e.message, icon=":material/error:")
        st.session_state.pop(LOADED_KEY, None)
        return None
    st.session_state[LOADED_KEY] = (asked, source)
    return source


def pick_source(viewer: Viewer, svc: Services) -> LabSource | None:
    """Draw the picker; the chosen source, or None when nothing (valid) is chosen yet."""
    wanted_run = st.query_params.get("run")
    if wanted_run and "lab_source_kind" not in st.session_state:
        st.session_state["lab_source_kind"] = "run"
    kind = st.radio(
        "Source",
        list(KINDS),
        format_func=KINDS.__getitem__,
        horizontal=True,
        key="lab_source_kind",
    )
    if kind == "run":
        return _saved_run(viewer, svc, wanted_run)
    if kind == "upload":
        return _upload()
    return _fixture(svc)


def _saved_run(viewer: Viewer, svc: Services, wanted: str | None) -> LabSource | None:
    owner = None if viewer.is_admin else viewer.username
    page = svc.store.list_runs(RunQuery(owner=owner, limit=RECENT_RUNS))
    labels = {s.id: _run_label(s) for s in page.items}
    if wanted and wanted not in labels:
        labels = {wanted: f"run {wanted}", **labels}
    if not labels:
        st.info("No saved runs yet: start one on the Conversation page, or pick a fixture.")
        return None
    if (
        wanted
        and st.session_state.get("lab_run") != wanted
        and "_lab_run_from_url" not in (st.session_state)
    ):
        st.session_state["lab_run"] = wanted
        st.session_state["_lab_run_from_url"] = True
    run_id = st.selectbox(
        "Run",
        list(labels),
        format_func=labels.__getitem__,
        index=None,
        placeholder="Pick a run (type to search)",
        key="lab_run",
    )
    if not run_id:
        return None
    if st.query_params.get("run") != run_id:
        st.query_params["run"] = run_id
    return _keep(
        ("run", run_id),
        lambda: lab_sources.load_run(svc.store, run_id, viewer.username, viewer.is_admin),
    )


def _upload() -> LabSource | None:
    file = st.file_uploader(
        "Transcript JSON (duet.transcript/1, as History downloads it)",
        type=["json"],
        key="lab_upload",
    )
    if file is None:
        return None
    data = file.getvalue()

    def load() -> LabSource:
        return LabSource(lab_sources.read_transcript(data), "upload", file.name)

    return _keep(("upload", file.file_id), load)


def _fixture(svc: Services) -> LabSource | None:
    directory = lab_sources.fixtures_dir(svc.settings)
    names = lab_sources.list_fixtures(directory)
    if not names:
        st.info(f"No fixture files (*.json) in {escape_markdown(str(directory))}.")
        return None
    name = st.selectbox("Fixture", names, key="lab_fixture")
    return _keep(
        ("fixture", str(directory), name), lambda: lab_sources.load_fixture(name, directory)
    )
