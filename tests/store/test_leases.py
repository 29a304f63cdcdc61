"""Several processes on one database (SQLite file and PostgreSQL): leases on live runs.

Real processes (``tests/store/lease_worker.py``): a second process never touches a live run of
the first; a run of a process killed with SIGKILL reads as interrupted once its lease expires
and continues cleanly; of two processes racing to continue it, exactly one wins.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from duet_core.models import RunStatus, utcnow
from duet_core.store import RunQuery
from duet_core.store.schema import runs
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
LEASE = "3.0"  # seconds; renewed three times per lease (room for a loaded machine)


def worker(db_url: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.store.lease_worker", args[0], db_url, LEASE, *args[1:]],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_json(proc: subprocess.Popen[str], timeout: float = 60) -> dict:
    """The worker's next JSON line (its logs go to stderr)."""
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not got or not got[0]:
        proc.kill()
        raise AssertionError(f"worker said nothing: {proc.stderr.read()[-2000:]}")
    return json.loads(got[0])


def raw(store, run_id: str):
    with store.engine.connect() as conn:
        return conn.execute(
            select(runs.c.status, runs.c.lease_owner, runs.c.lease_expires_at).where(
                runs.c.id == run_id
            )
        ).one()


def listed_status(store, run_id: str) -> RunStatus:
    return next(r.status for r in store.list_runs(RunQuery()).items if r.id == run_id)


def test_processes_share_a_database(db_url, store):
    first = worker(db_url, "start")
    try:
        started = read_json(first)
        run_id = started["run"]
        # the owner renews its lease: the expiry moves forward while the run lives
        before = raw(store, run_id).lease_expires_at
        wait_for(lambda: raw(store, run_id).lease_expires_at > before, what="a lease renewal")
        assert raw(store, run_id).lease_owner == started["owner"]

        # a second process starting up touches nothing of the live run, nor may continue it
        second = worker(db_url, "probe", run_id)
        probed = read_json(second)
        assert second.wait(30) == 0
        assert run_id not in probed["recovered"]
        assert probed["outcome"] == "refused" and "still going" in probed["message"]
        assert raw(store, run_id).status == "running"
        assert store.get_run(run_id).status is RunStatus.RUNNING
        assert listed_status(store, run_id) is RunStatus.RUNNING

        # SIGKILL: nobody marks the run; once the lease expires it reads as interrupted
        first.send_signal(signal.SIGKILL)
        first.wait(30)
        wait_for(
            lambda: listed_status(store, run_id) is RunStatus.INTERRUPTED,
            what="the dead process's run to read as interrupted",
        )
        assert raw(store, run_id).status == "running"  # no recovery has run: reads only
        assert store.get_run(run_id).status is RunStatus.INTERRUPTED
        assert run_id in {
            r.id for r in store.list_runs(RunQuery(statuses=[RunStatus.INTERRUPTED])).items
        }
        assert run_id not in {
            r.id for r in store.list_runs(RunQuery(statuses=[RunStatus.RUNNING])).items
        }

        # two processes race to continue it: exactly one wins, the run ends cleanly
        racers = [worker(db_url, "continue", run_id) for _ in range(2)]
        for racer in racers:
            assert read_json(racer) == {"ready": True}
        for racer in racers:
            racer.stdin.write("go\n")
            racer.stdin.flush()
        outcomes = [read_json(racer) for racer in racers]
        for racer in racers:
            assert racer.wait(60) == 0, racer.stderr.read()[-2000:]
        assert sorted(o["outcome"] for o in outcomes) == ["refused", "won"], outcomes
        winner = next(o for o in outcomes if o["outcome"] == "won")
        assert winner["status"] == "completed"
        saved = store.get_run(run_id)
        assert saved.status is RunStatus.COMPLETED
        assert [t.index for t in saved.turns] == [0, 1, 2, 3]
        assert [t.content for t in saved.turns] == ["Ada one", "more", "more", "more"]
        assert raw(store, run_id).lease_owner == winner["owner"]
    finally:
        for p in [first, *locals().get("racers", [])]:
            if p.poll() is None:
                p.kill()


def test_take_over_only_when_not_live_or_expired(store, make_run):
    run = make_run(status=RunStatus.STOPPED)
    store.create_run(run)
    assert store.take_over(run.id, "p1", 30)
    assert not store.take_over(run.id, "p2", 30)  # p1 holds a current lease
    assert store.renew_leases("p1", [run.id], 30) == {run.id}
    assert store.renew_leases("p2", [run.id], 30) == set()
    with store._write() as conn:  # p1's lease runs out
        conn.execute(
            update(runs)
            .where(runs.c.id == run.id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
    assert store.get_run(run.id).status is RunStatus.INTERRUPTED
    assert store.take_over(run.id, "p2", 30)
    assert store.renew_leases("p1", [run.id], 30) == set()  # p1 lost it


def test_a_writer_that_lost_its_lease_cannot_write(store, make_run, make_turn):
    from duet_core.store.store import LeaseLost

    run = make_run(status=RunStatus.STOPPED)
    store.create_run(run)
    assert store.take_over(run.id, "p1", 30)
    store.save_turn(run.id, make_turn(run, 0), lease_owner="p1")
    with pytest.raises(LeaseLost):
        store.save_turn(run.id, make_turn(run, 1), lease_owner="p2")
    with pytest.raises(LeaseLost):
        store.set_status(run.id, RunStatus.COMPLETED, lease_owner="p2")
    store.set_status(run.id, RunStatus.COMPLETED, lease_owner="p1")
    got = store.get_run(run.id)
    assert got.status is RunStatus.COMPLETED and len(got.turns) == 1
    assert raw(store, run.id).lease_expires_at is None  # an ended run holds no lease


def test_recovery_leaves_current_leases_alone(store, make_run):
    mine, dead, legacy = (make_run(status=RunStatus.RUNNING) for _ in range(3))
    store.create_run(mine, "alive-process", 30)
    store.create_run(dead, "dead-process", 30)
    store.create_run(legacy)  # no lease at all: from before leases
    with store._write() as conn:
        conn.execute(
            update(runs)
            .where(runs.c.id == dead.id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
    assert sorted(store.mark_interrupted()) == sorted([dead.id, legacy.id])
    assert store.get_run(mine.id).status is RunStatus.RUNNING


def test_a_finished_run_is_not_taken_over_again(store, make_run):
    """The loser of a Continue race may try after the winner has finished the run: a completed
    run is taken over only when Continue asks for more turns."""
    run = make_run(turns=2)
    store.create_run(run)
    store.set_status(run.id, RunStatus.STOPPED, "user")
    assert store.take_over(run.id, "winner", 30)
    store.set_status(run.id, RunStatus.COMPLETED, "max_turns")
    assert not store.take_over(run.id, "loser", 30)
    assert raw(store, run.id).lease_owner == "winner"
    assert store.take_over(run.id, "more-turns", 30, completed_too=True)
