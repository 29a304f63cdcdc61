"""History's background export on the page: a failure is one message; the page watches the
job it shows; a served download leaves Streamlit's media storage soon after it went out."""

from __future__ import annotations

from types import SimpleNamespace

from streamlit.runtime import Runtime
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from duet_core.exports.jobs import ExportJob
from duet_ui.history import data as hd
from duet_ui.history import export as history_export
from tests.waiting import wait_for


def test_a_failed_export_is_one_message(seed, logged_in, monkeypatch, tmp_path):
    seed("alice")
    monkeypatch.setattr(hd, "BULK_INLINE_TURNS", 1)
    at = logged_in("alice", "history")
    history_export.export_jobs().folder = tmp_path / "gone"  # the file cannot be written
    at.button(key="export_start_csv").click().run()
    job = history_export.export_jobs().get("alice")
    assert job.wait(60) and job.state == "error"
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == ["The export failed: No such file or directory."]
    assert "download_export_file" not in [b.key for b in at.download_button]
    at.button(key="export_discard").click().run()
    assert history_export.export_jobs().get("alice") is None and not at.error


def test_the_page_watches_the_job_it_shows(seed, logged_in, monkeypatch):
    seed("alice")
    monkeypatch.setattr(hd, "BULK_INLINE_TURNS", 1)
    at = logged_in("alice", "history")
    at.button(key="export_start_jsonl").click().run()
    job = history_export.export_jobs().get("alice")
    assert len(job._watchers) == 1  # this session, asked whether it is still connected
    assert job.wait(60) and job.state == "done"


def test_a_served_download_leaves_the_media_storage_then_the_heap(tmp_path, monkeypatch):
    """The real MediaFileManager: a deferred download, once served, is marked unused by the
    first sweep and deleted by the second, with no script run in between; once the response
    lets go of it too, freed heap is given back."""
    monkeypatch.setattr(history_export, "FORGET_SERVED_AFTER", (0.05, 0.1))
    monkeypatch.setattr(history_export, "TRIM_AFTER_SENT", (0.0, 0.01))
    monkeypatch.setattr(history_export, "SENT_POLL", 0.01)
    trims = []
    monkeypatch.setattr(history_export, "release_memory", lambda: trims.append(1))
    storage = MemoryMediaFileStorage("/media")
    media = MediaFileManager(storage)
    monkeypatch.setattr(Runtime, "exists", classmethod(lambda cls: True))
    monkeypatch.setattr(Runtime, "instance", classmethod(lambda cls: SimpleNamespace(
        media_file_mgr=media)))  # fmt: skip
    path = tmp_path / "x.csv"
    path.write_bytes(b"run_id,turn\n" * 1000)
    job = ExportJob("j1", "alice", "csv", False, path, state="done")
    file_id = media.add_deferred(history_export._served(job), "text/csv", "1.2", "x.csv")
    url = media.execute_deferred(file_id)  # what a click does: the callable, then stored
    in_flight = storage.get_file(url.rsplit("/", 1)[-1]).content  # the response sending it
    assert in_flight == path.read_bytes()
    wait_for(lambda: not storage._files_by_id, what="the served file to be deleted")
    assert trims == []  # still being sent
    del in_flight
    wait_for(lambda: len(trims) == 2, what="the heap given back")
