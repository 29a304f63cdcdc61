"""Background bulk exports: a child process writes the file (on both databases), reports its
progress, says what went wrong in one line, and leaves nothing behind: no process, no file."""

from __future__ import annotations

import gzip
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from duet_core.exports import bulk as exports_bulk
from duet_core.exports import child as exports_child
from duet_core.exports import jobs as exports_jobs
from duet_core.exports.jobs import KEEP_SECONDS, UNWATCHED_SECONDS, ExportJobs
from duet_core.models import RunStatus
from duet_core.store import RunQuery, Store
from tests.waiting import wait_for

RUNS = 5  # progress is reported after each run


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, ended but not yet reaped, counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def saved(store, make_run, make_turn):
    for i in range(RUNS):
        run = make_run(f"Topic {i}", status=RunStatus.COMPLETED, owner="alice")
        run.turns = [make_turn(run, 0), make_turn(run, 1, content=f'Reply, {i} = "{i}"')]
        store.create_run(run)


@pytest.fixture
def jobs(tmp_path):
    jobs = ExportJobs(tmp_path / "exports")
    jobs.folder.mkdir()
    yield jobs
    jobs.close()


def expected(store: Store, fmt: str, **kw) -> bytes:
    out = io.BytesIO()
    exports_bulk.write_export(store, RunQuery(), fmt, out, **kw)
    return out.getvalue()


def test_a_child_process_writes_the_file_then_ends(store, saved, jobs):
    job = jobs.start(store, RunQuery(), "csv", "alice", spreadsheet_safe=True)
    assert job.pid is None or job.pid != os.getpid()
    assert job.wait(60) and job.state == "done", job.error
    assert job.read() == expected(store, "csv", spreadsheet_safe=True)
    assert (job.done, job.total, job.fraction) == (2 * RUNS, 2 * RUNS, 1.0)
    assert job.pid is None and job.file_name == "duet-runs.csv"

    job = jobs.start(store, RunQuery(), "jsonl", "alice", compress=True)
    assert job.wait(60) and job.state == "done", job.error
    assert gzip.decompress(job.read()) == expected(store, "jsonl")
    assert job.file_name == "duet-runs.jsonl.gz" and job.mime == "application/gzip"
    assert [p.name for p in jobs.folder.iterdir()] == [job.path.name]  # the first one went


def test_the_child_reports_progress_then_the_count(store, saved, tmp_path, monkeypatch):
    monkeypatch.setattr(exports_child, "PROGRESS_SECONDS", 0.0)  # every run reported
    out = io.StringIO()
    spec = {
        "url": store.url.render_as_string(hide_password=False),
        "query": RunQuery().model_dump(mode="json"),
        "path": str(tmp_path / "x.json"),
        "fmt": "json",
        "compress": False,
        "spreadsheet_safe": False,
    }
    assert exports_child.run_export(spec, out) == 0
    reports = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["done"] for r in reports[:-1]] == [2 * (i + 1) for i in range(RUNS)]
    assert {r["total"] for r in reports[:-1]} == {2 * RUNS}
    assert reports[-1] == {"turns": 2 * RUNS}
    assert len(json.loads(Path(spec["path"]).read_text())) == RUNS


def test_a_failed_export_says_so_in_one_line_and_leaves_no_file(store, saved, jobs, capfd):
    gone = jobs.folder / "gone"  # a folder that does not exist: the file cannot be opened
    jobs.folder = gone
    job = jobs.start(store, RunQuery(), "csv", "alice")
    assert job.wait(60) and job.state == "error"
    assert job.error == "The export failed: No such file or directory."
    assert not gone.exists() and job.pid is None
    assert "Traceback" not in capfd.readouterr().err  # the child's stderr is the server's


def test_a_missing_database_is_one_message(tmp_path, jobs):
    url = f"sqlite:///{tmp_path / 'duet.db'}"
    with Store(url) as store:
        (tmp_path / "duet.db").unlink()
        job = jobs.start(store, RunQuery(), "csv", "alice")
        assert job.wait(60) and job.state == "error"
    assert job.error == f"No database at {tmp_path / 'duet.db'}: check --db or DUET_DATABASE_URL."


@pytest.fixture
def blocked(store, saved, open_store):
    """Exports wait: on PostgreSQL a lock held on the turns table; on SQLite, a job can only be
    caught before its child has read anything (the tests say which)."""
    if store.url.get_backend_name() != "postgresql":
        yield False
        return
    other = open_store()
    with other.engine.connect() as conn:
        conn.execute(text("BEGIN"))
        conn.execute(text("LOCK TABLE turns IN ACCESS EXCLUSIVE MODE"))
        yield True
        conn.execute(text("ROLLBACK"))


def test_discard_ends_the_child_and_deletes_its_file(store, blocked, jobs):
    job = jobs.start(store, RunQuery(), "csv", "alice")
    if blocked:
        wait_for(lambda: job.pid, timeout=60, what="the child")
        pid = job.pid
    jobs.discard("alice")
    assert job.state == "cancelled" and jobs.get("alice") is None
    assert not job.path.exists() and list(jobs.folder.iterdir()) == []
    if blocked:
        assert not alive(pid)


def test_a_child_that_dies_is_one_message(store, blocked, jobs):
    if not blocked:
        pytest.skip("needs a lock to hold the child (PostgreSQL)")
    job = jobs.start(store, RunQuery(), "csv", "alice")
    os.kill(wait_for(lambda: job.pid, timeout=60, what="the child"), signal.SIGKILL)
    assert job.wait(30) and job.state == "error"
    assert job.error == "The export stopped unexpectedly (exit code -9). Try again."
    assert not job.path.exists()


SERVER = """
import sys
from duet_core.exports.jobs import ExportJobs
from duet_core.store import RunQuery, Store
job = ExportJobs().start(Store(sys.argv[1]), RunQuery(), "csv", "alice")
while job.pid is None:
    job.wait(0.05)
print(job.pid, job.path, flush=True)
job.wait()
"""


def test_the_child_ends_with_the_server(store, blocked):
    if not blocked:
        pytest.skip("needs a lock to hold the child (PostgreSQL)")
    url = store.url.render_as_string(hide_password=False)
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, url], stdout=subprocess.PIPE, text=True
    )
    try:
        pid, path = server.stdout.readline().split()
        assert alive(int(pid))
        server.kill()  # no clean-up of its own: the kernel tells the child
        server.wait()
        wait_for(lambda: not alive(int(pid)), timeout=60, what="the child to end")
        assert not Path(path).exists()
    finally:
        server.kill()
        server.wait()
        server.stdout.close()


def test_a_job_goes_when_no_page_watches_it_any_more(store, saved, jobs):
    job = jobs.start(store, RunQuery(), "csv", "alice")
    assert job.wait(60) and job.state == "done"
    sessions = {"s1": True, "s2": True}
    jobs.watch("alice", "s1", lambda: sessions["s1"])
    jobs.watch("alice", "s2", lambda: sessions["s2"])
    now = time.monotonic()
    sessions["s1"] = False  # one tab closed: the other still shows it
    jobs.sweep(now + UNWATCHED_SECONDS + 1)
    assert jobs.get("alice") is job and job.path.exists()
    sessions["s2"] = False  # the last one closed: kept a short while (a reload comes back)
    jobs.sweep(now + UNWATCHED_SECONDS + 2)
    assert jobs.get("alice") is job
    jobs.sweep(now + 2 * UNWATCHED_SECONDS + 3)
    assert jobs.get("alice") is None and not job.path.exists()


def test_a_running_job_nobody_watches_is_cancelled(store, blocked, jobs):
    job = jobs.start(store, RunQuery(), "csv", "alice")
    jobs.watch("alice", "s1", lambda: False)
    jobs.sweep(time.monotonic() + UNWATCHED_SECONDS + 1)
    assert jobs.get("alice") is None and job.state == "cancelled"
    assert list(jobs.folder.iterdir()) == []


def test_a_finished_file_is_deleted_after_a_while(store, saved, jobs):
    job = jobs.start(store, RunQuery(), "jsonl", "alice")
    assert job.wait(60) and job.state == "done"
    jobs.sweep(job.finished + KEEP_SECONDS - 1)
    assert jobs.get("alice") is job
    jobs.sweep(job.finished + KEEP_SECONDS + 1)
    assert jobs.get("alice") is None and not job.path.exists()


def test_the_sweeper_does_it_by_itself(store, saved, jobs, monkeypatch):
    monkeypatch.setattr(exports_jobs, "SWEEP_SECONDS", 0.05)
    monkeypatch.setattr(exports_jobs, "UNWATCHED_SECONDS", 0.0)
    job = jobs.start(store, RunQuery(), "csv", "alice")
    jobs.watch("alice", "s1", lambda: False)
    wait_for(lambda: jobs.get("alice") is None, timeout=60, what="the sweeper")
    assert job.wait(30) and not job.path.exists()


def test_close_ends_every_job_and_deletes_the_folder(store, blocked, jobs):
    job = jobs.start(store, RunQuery(), "csv", "alice")
    jobs.close()
    assert job.state == "cancelled" and not jobs.folder.exists()


def test_an_in_memory_database_exports_in_a_thread(tmp_path, make_run, make_turn):
    with Store("sqlite://") as store:
        run = make_run("Here", status=RunStatus.COMPLETED)
        run.turns = [make_turn(run, 0)]
        store.create_run(run)
        jobs = ExportJobs(tmp_path)
        job = jobs.start(store, RunQuery(), "csv", "alice")
        assert job.wait(30) and job.state == "done" and job.pid is None
        assert job.read() == expected(store, "csv")
        jobs.close()
