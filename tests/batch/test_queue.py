"""The queue in the database, on SQLite and PostgreSQL: an experiment's runs saved queued with
their cells, claimed once each under a lease, within the experiment's concurrency over every
worker; a dead worker's runs claimed again; budget, pause, resume, cancel; an old database with
data upgraded to 0007."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import insert, select, update

from duet_core.batch import control
from duet_core.batch.experiment import experiment_from_data
from duet_core.errors import ConfigError
from duet_core.models import RunStatus, utcnow
from duet_core.store import RunQuery, Store, database_url
from duet_core.store.connect import open_engine
from duet_core.store.experiments import ExperimentQueue
from duet_core.store.migrate import alembic_config, head_revision
from duet_core.store.rows import run_values, turn_values
from duet_core.store.schema import runs, turns
from duet_core.vocabulary import ExperimentStatus
from tests.batch.conftest import openai_bots


def experiment(runs_n: int = 6, concurrency: int = 3, **more):
    data = {
        "name": "queue test",
        "run": {"topic": "t", "max_turns": 2, "bots": openai_bots()},
        "topics": [f"topic {i}" for i in range(runs_n)],
        "concurrency": concurrency,
        **more,
    }
    return experiment_from_data(data)


@pytest.fixture
def store(db_url):
    with Store(db_url) as s:
        yield s


def test_submit_saves_every_run_queued_with_its_cell(store):
    exp = experiment_from_data(
        {
            "name": "grid",
            "run": {"topic": "t", "max_turns": 2, "bots": openai_bots()},
            "topics": ["a", "b"],
            "vary": {"bots[1].model": ["gpt-4o-mini", "gpt-4.1"]},
            "repeats": 2,
        }
    )
    record = control.submit(store, exp, "alice")
    assert record.id.startswith("x") and record.run_count == 8
    page = store.list_runs(RunQuery(experiment=record.id, limit=100))
    assert page.total == 8
    assert {s.status for s in page.items} == {RunStatus.QUEUED}
    saved = [store.get_run(i) for i in ExperimentQueue(store).run_ids(record.id)]
    for cell, run in zip(exp.cells, saved, strict=True):
        assert run.experiment_id == record.id and run.experiment_cell == cell.values
        assert run.config == cell.config and run.owner == "alice"
    assert store.list_runs(RunQuery(experiment="xnone")).total == 0
    p = control.progress(store, record.id)
    assert (p.runs, p.queued, p.running, p.done) == (8, 8, 0, 0)
    assert store.mark_interrupted() == []  # queued runs are not live: recovery leaves them


def test_claims_respect_concurrency_over_workers_and_never_give_a_run_twice(store):
    record = control.submit(store, experiment(6, concurrency=3), "alice")
    queue = ExperimentQueue(store)
    first = queue.claim("worker-a", 30, limit=10)
    assert len(first) == 3  # the experiment's concurrency, not the worker's room
    assert queue.claim("worker-b", 30, limit=10) == []  # counted over every worker
    assert queue.run_ids(record.id)[:3] == first  # in grid order
    p = control.progress(store, record.id)
    assert (p.queued, p.running) == (3, 3)
    # worker a finishes one: b may start one
    store.set_status(first[0], RunStatus.COMPLETED, lease_owner="worker-a")
    second = queue.claim("worker-b", 30, limit=10)
    assert len(second) == 1 and second[0] not in first
    row = _row(store, second[0])
    assert row.status == "running" and row.lease_owner == "worker-b"


def test_a_dead_workers_runs_are_claimed_again(store):
    record = control.submit(store, experiment(4, concurrency=4), "alice")
    queue = ExperimentQueue(store)
    taken = queue.claim("worker-a", 30, limit=2)
    with store._write() as conn:  # worker a died: its leases ran out
        conn.execute(
            update(runs)
            .where(runs.c.id.in_(taken))
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
    p = control.progress(store, record.id)
    assert (p.queued, p.running) == (4, 0)  # waiting to be taken up again
    again = queue.claim("worker-b", 30, limit=4)
    assert again[:2] == taken and len(again) == 4  # the oldest first
    assert {_row(store, i).lease_owner for i in again} == {"worker-b"}
    # a run marked interrupted by a restarting process is claimable too
    store.set_status(again[0], RunStatus.INTERRUPTED, "interrupted", lease_owner="worker-b")
    assert queue.claim("worker-c", 30, limit=4) == [again[0]]


def test_concurrent_claims_share_the_queue_without_overlap(db_url):
    stores = [Store(db_url) for _ in range(4)]
    try:
        record = control.submit(stores[0], experiment(40, concurrency=40), "alice")
        got: list[list[str]] = [[] for _ in stores]
        start = threading.Barrier(len(stores))

        def claimer(i: int) -> None:
            queue = ExperimentQueue(stores[i])
            start.wait()
            while ids := queue.claim(f"worker-{i}", 30, limit=3):
                got[i].extend(ids)

        threads = [threading.Thread(target=claimer, args=(i,)) for i in range(len(stores))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        every = [i for ids in got for i in ids]
        assert len(every) == len(set(every)) == 40  # each run claimed exactly once
        assert sorted(every) == sorted(ExperimentQueue(stores[0]).run_ids(record.id))
        for i, ids in enumerate(got):
            assert {_row(stores[0], r).lease_owner for r in ids} <= {f"worker-{i}"}
    finally:
        for s in stores:
            s.close()


def test_budget_stops_starting_runs_and_resume_takes_a_new_one(store):
    record = control.submit(store, experiment(4, concurrency=1, budget_usd=1.0), "alice")
    queue = ExperimentQueue(store)
    [first] = queue.claim("w", 30, limit=5)
    with store._write() as conn:
        conn.execute(update(runs).where(runs.c.id == first).values(cost_usd=1.5))
    store.set_status(first, RunStatus.COMPLETED, lease_owner="w")
    assert queue.claim("w", 30, limit=5) == []
    p = control.progress(store, record.id)
    assert p.status is ExperimentStatus.BUDGET and p.queued == 3 and p.cost_usd == 1.5
    assert not queue.pending(record.id)
    control.resume(store, record.id, budget_usd=10.0)
    assert len(queue.claim("w", 30, limit=5)) == 1


def test_the_budget_counts_what_judging_the_runs_cost(store):
    from duet_core.models import Evaluation

    record = control.submit(store, experiment(4, concurrency=1, budget_usd=1.0), "alice")
    queue = ExperimentQueue(store)
    [first] = queue.claim("w", 30, limit=5)
    with store._write() as conn:
        conn.execute(update(runs).where(runs.c.id == first).values(cost_usd=0.4))
    store.set_status(first, RunStatus.COMPLETED, lease_owner="w")
    judged = Evaluation(run_id=first, judge="j", per="run", score=7, cost_usd=0.3)
    store.evaluations.add([judged])
    [second] = queue.claim("w", 30, limit=5)  # $0.70 of $1.00 spent: it goes on
    store.set_status(second, RunStatus.COMPLETED, lease_owner="w")
    p = control.progress(store, record.id)
    assert (round(p.cost_usd, 6), round(p.judge_cost_usd, 6)) == (0.7, 0.3)
    # a second judge's answers alone take it over the budget: no further run starts
    store.evaluations.add([Evaluation(run_id=second, judge="k", score=5, cost_usd=0.35)])
    assert queue.claim("w", 30, limit=5) == []
    p = control.progress(store, record.id)
    assert p.status is ExperimentStatus.BUDGET and p.queued == 2 and p.done == 2
    assert p.as_json()["cost_usd"] == 1.05 and p.as_json()["judge_cost_usd"] == 0.65
    # the results table: each cell's mean judge score, where judged
    cells = control.cell_results(store, record.id)
    assert [c.judge_score for c in cells] == [7.0, 5.0, None, None]
    assert [c.as_json()["run_ids"] for c in cells[:2]] == [[first], [second]]


def test_pause_resume_cancel(store):
    record = control.submit(store, experiment(4, concurrency=4), "alice")
    queue = ExperimentQueue(store)
    running = queue.claim("w", 30, limit=1)
    control.pause(store, record.id)
    assert queue.claim("w", 30, limit=5) == [] and not queue.pending()
    control.resume(store, record.id)
    assert len(queue.claim("w", 30, limit=1)) == 1
    cancelled = control.cancel(store, record.id)
    assert cancelled.status is ExperimentStatus.CANCELLED
    p = control.progress(store, record.id)
    assert (p.queued, p.running, p.stopped) == (0, 2, 2)  # running ones stop in their worker
    assert _row(store, running[0]).status == "running"
    assert queue.claim("w", 30, limit=5) == []
    with pytest.raises(ConfigError, match="has ended"):
        control.resume(store, record.id)


def test_the_last_claim_completes_the_experiment(store):
    record = control.submit(store, experiment(2, concurrency=2), "alice")
    queue = ExperimentQueue(store)
    for run_id in queue.claim("w", 30, limit=5):
        store.set_status(run_id, RunStatus.COMPLETED, lease_owner="w")
    assert queue.pending(record.id) is False
    assert queue.claim("w", 30, limit=5) == []
    p = control.progress(store, record.id)
    assert p.status is ExperimentStatus.COMPLETED and p.done == 2 and p.finished_at


def test_other_peoples_experiments_read_as_missing(store):
    from duet_core.errors import NotFound

    record = control.submit(store, experiment(1), "alice")
    with pytest.raises(NotFound):
        control.progress(store, record.id, user="bob")
    assert control.progress(store, record.id, user="bob", is_admin=True).runs == 1


def test_a_database_with_data_at_0006_upgrades_to_0007(db_url, make_run, make_turn):
    engine = open_engine(database_url(db_url))
    old = make_run("Saved before experiments", status=RunStatus.COMPLETED)
    old.turns = [make_turn(old, i) for i in range(3)]
    with engine.connect() as conn:
        conn.execution_options(duet_write=True)
        with conn.begin():
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0006")
            values = run_values(old)
            for key in ("experiment_id", "experiment_cell"):  # no such columns yet
                values.pop(key)
            conn.execute(insert(runs).values(**values))
            conn.execute(insert(turns), [turn_values(old.id, t) for t in old.turns])
    engine.dispose()
    with Store(db_url) as store:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == (
                head_revision()
            )
        back = store.get_run(old.id)
        assert back.turns == old.turns and back.experiment_id is None
        assert store.list_runs(RunQuery(search="experiments")).total == 1
        record = control.submit(store, experiment(2), "alice")
        assert store.list_runs(RunQuery(experiment=record.id)).total == 2
        assert store.list_runs().total == 3


def _row(store: Store, run_id: str):
    with store._read() as conn:
        return conn.execute(select(runs).where(runs.c.id == run_id)).one()
