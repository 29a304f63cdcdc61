"""A worker in this process, on SQLite and PostgreSQL, with the real OpenAI SDK against the
fake server: every run completes with its cell's settings (checked at the server); a provider
answering 429 for a while slows the experiment instead of failing runs; the budget stops it;
cancel stops running runs; a worker shut down mid-run leaves its runs to another, which
finishes them from where they stopped."""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path

import pytest

from duet_core.batch import control
from duet_core.batch.experiment import experiment_from_data
from duet_core.batch.limits import ProviderLimits
from duet_core.batch.worker import Worker
from duet_core.models import RunStatus
from duet_core.providers import clear_client_cache
from duet_core.services import Services, build_services
from duet_core.settings import Settings
from duet_core.store.experiments import ExperimentQueue
from duet_core.vocabulary import ExperimentStatus
from tests.batch.conftest import LLMServer, openai_bots
from tests.providers.provider_fakes import API_KEY
from tests.waiting import wait_for


@pytest.fixture(autouse=True)
def _fresh_clients():
    clear_client_cache()  # each test's fake server is a new address
    yield
    clear_client_cache()


@pytest.fixture
def open_services(db_url, llm: LLMServer):
    opened: list[Services] = []

    def open_(**settings) -> Services:
        values = {
            "database_url": db_url,
            "openai_api_key": API_KEY,
            "openai_base_url": f"{llm.url}/v1",
            "max_retries": 0,
            "lease_seconds": 3.0,
            **settings,
        }
        opened.append(build_services(Settings(_env_file=None, **values)))
        return opened[-1]

    yield open_
    for s in opened:
        s.close()


def run_until_idle(worker: Worker, timeout: float = 60.0) -> None:
    thread = threading.Thread(target=worker.run, kwargs={"until_idle": True}, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        worker.shut_down()
        raise AssertionError(f"the worker did not finish within {timeout:g} s")


def submit(services: Services, **spec):
    data = {
        "name": "worker test",
        "run": {"topic": "t", "max_turns": 2, "bots": openai_bots()},
        **spec,
    }
    return control.submit(services.store, experiment_from_data(data), "alice")


def test_every_run_completes_with_its_cells_settings(open_services, llm):
    services = open_services()
    record = submit(
        services,
        topics=["Topic A", "Topic B"],
        vary={"bots[1].model": ["gpt-4o-mini", "gpt-4.1"], "bots[0].temperature": [0.2, 0.9]},
        repeats=2,
        concurrency=4,
    )
    worker = Worker.for_services(services, capacity=8, experiment_id=record.id, poll_seconds=0.1)
    run_until_idle(worker)
    p = control.progress(services.store, record.id)
    assert (p.runs, p.done, p.failed, p.queued, p.running) == (16, 16, 0, 0, 0)
    assert p.status is ExperimentStatus.COMPLETED
    expected: Counter = Counter()
    for run_id in ExperimentQueue(services.store).run_ids(record.id):
        run = services.store.get_run(run_id)
        cell = run.experiment_cell
        assert run.status is RunStatus.COMPLETED and len(run.turns) == 2
        ada, bo = run.turns
        assert (ada.model, ada.temperature) == ("gpt-4.1-mini", cell["bots[0].temperature"])
        assert (bo.model, bo.temperature) == (cell["bots[1].model"], None)
        expected[(cell["topic"], "gpt-4.1-mini", cell["bots[0].temperature"])] += 1
        expected[(cell["topic"], cell["bots[1].model"], None)] += 1
    seen: Counter = Counter()
    for request in llm.chat_requests():  # what the provider was actually sent
        body = request.body
        first_user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        topic = first_user.split("\n\n")[0]
        seen[(topic, body["model"], body.get("temperature"))] += 1
    assert seen == expected
    assert worker.started == 16


def test_rate_limits_slow_the_experiment_instead_of_failing_runs(open_services, llm):
    services = open_services()
    llm.rate_limited = 8  # the first eight requests get 429 (the SDK does not retry here)
    record = submit(services, topics=[f"t{i}" for i in range(8)], concurrency=8)
    limits = ProviderLimits(8, first_backoff=0.05)
    worker = Worker.for_services(
        services, capacity=8, experiment_id=record.id, poll_seconds=0.1, limits=limits
    )
    run_until_idle(worker)
    p = control.progress(services.store, record.id)
    assert (p.done, p.failed) == (8, 0)  # no run failed for a rate limit
    assert llm.limited_answers == 8
    [state] = limits.states().values()
    assert state.cuts >= 1 and state.lowest <= 4  # it sent fewer at once
    assert state.limit > state.lowest  # and climbed back as requests succeeded
    assert len(llm.chat_requests()) == 8 * 2 + 8


def test_a_rate_limit_that_lasts_too_long_fails_the_run(open_services, llm):
    services = open_services()
    llm.rate_limited = 1000
    record = submit(services, topics=["only"], concurrency=1)
    limits = ProviderLimits(1, first_backoff=0.01)
    worker = Worker(
        services.manager,
        lambda bot: services.providers(bot),
        capacity=1,
        experiment_id=record.id,
        poll_seconds=0.1,
        limits=limits,
        patience=0.3,
    )
    run_until_idle(worker)
    p = control.progress(services.store, record.id)
    assert (p.done, p.failed) == (0, 1)
    [run_id] = ExperimentQueue(services.store).run_ids(record.id)
    assert "rate limiting" in services.store.get_run(run_id).error


def test_the_budget_stops_starting_runs(open_services, llm, tmp_path: Path):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"gpt-4.1-mini": [1_000_000, 1_000_000]}))  # $1 a token
    services = open_services(prices_file=prices)
    record = submit(services, topics=[f"t{i}" for i in range(5)], concurrency=1, budget_usd=40.0)
    worker = Worker.for_services(services, capacity=1, experiment_id=record.id, poll_seconds=0.1)
    run_until_idle(worker)
    p = control.progress(services.store, record.id)
    # each run costs 2 turns x (10 + 5 tokens): the second run crosses $40
    assert p.status is ExperimentStatus.BUDGET
    assert (p.done, p.queued, p.cost_usd) == (2, 3, 60.0)


def test_cancel_stops_running_runs_in_their_worker(open_services, llm):
    llm.words, llm.delay = 50, 0.05  # 2.5 s a turn
    services = open_services()
    record = submit(services, topics=[f"t{i}" for i in range(6)], concurrency=2)
    worker = Worker.for_services(services, capacity=4, experiment_id=record.id, poll_seconds=0.1)
    thread = threading.Thread(target=worker.run, kwargs={"until_idle": True}, daemon=True)
    thread.start()
    wait_for(lambda: control.progress(services.store, record.id).running == 2, what="2 running")
    control.cancel(services.store, record.id)  # as another process would: by the database
    thread.join(30)
    assert not thread.is_alive()
    p = control.progress(services.store, record.id)
    assert p.status is ExperimentStatus.CANCELLED
    assert (p.queued, p.running, p.stopped, p.done) == (0, 0, 6, 0)


def test_a_worker_shut_down_mid_run_leaves_its_runs_to_another(open_services, llm):
    llm.words, llm.delay = 20, 0.02  # 0.4 s a turn
    first, second = open_services(), open_services()
    record = submit(
        first,
        run={"topic": "t", "max_turns": 4, "bots": openai_bots()},
        topics=[f"t{i}" for i in range(4)],
        concurrency=4,
    )
    a = Worker.for_services(first, capacity=2, experiment_id=record.id, poll_seconds=0.1)
    thread = threading.Thread(target=a.run, daemon=True)
    thread.start()
    store = first.store

    def mid_run() -> list[str]:
        ids = ExperimentQueue(store).run_ids(record.id)
        return [i for i in ids if 1 <= len(store.get_run(i).turns) < 4]

    held = wait_for(mid_run, what="a run with some of its turns")
    a.shut_down()
    thread.join(30)
    assert {store.get_run(i).status for i in held} == {RunStatus.INTERRUPTED}
    b = Worker.for_services(second, capacity=4, experiment_id=record.id, poll_seconds=0.1)
    run_until_idle(b)
    p = control.progress(store, record.id)
    assert (p.done, p.failed, p.queued) == (4, 0, 0)
    for run_id in ExperimentQueue(store).run_ids(record.id):
        run = store.get_run(run_id)
        assert [t.index for t in run.turns] == [0, 1, 2, 3]  # each turn once, none lost
    assert b.started >= len(held)
