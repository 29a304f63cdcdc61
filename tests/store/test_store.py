"""Saving and reading runs and turns, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from duet_core.models import BotConfig, RunStatus, Turn
from duet_core.store import RunNotFound, RunQuery
from duet_core.store.schema import runs, turns

PARIS = timezone(timedelta(hours=2))


def count_turns(store, run_id: str) -> int:
    with store.engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(turns).where(turns.c.run_id == run_id)
        ).scalar_one()


def test_round_trip_keeps_everything(store, make_run, make_turn):
    run = make_run("Café ☕ debate: «tabs» vs 'spaces', \"quotes\"\nand a second line 🚀")
    run.created_at = datetime(2026, 5, 1, 14, 30, 15, 123456, tzinfo=PARIS)
    t0 = make_turn(run, 0, content="Ünïcödé 漢字 and emoji 👩‍🔬\n\nwith a blank line")
    t0.thinking = "Let me think… 🤔"
    t0.started_at = datetime(2026, 5, 1, 14, 30, 16, tzinfo=PARIS)
    person = Turn(index=1, bot_index=None, bot_name="Sam", content="Please be brief.")
    person.finish_reason = "person"
    run.turns = [t0, person]
    store.create_run(run)

    got = store.get_run(run.id)
    assert got == run
    assert got.created_at.tzinfo is UTC and got.created_at == run.created_at
    assert got.created_at.hour == 12  # 14:30 in +02:00
    assert got.turns[0].started_at.tzinfo is UTC
    assert got.turns[0].finished_at.tzinfo is UTC
    assert got.turns[1].by_person and got.turns[1].config is None
    assert got.turns[0].config == run.config.bots[0]
    assert got.config == run.config


def test_unknown_run(store):
    assert store.get_run("nope") is None
    assert store.delete_run("nope") is False
    with pytest.raises(RunNotFound):
        store.set_status("nope", RunStatus.COMPLETED)


def test_save_turn_needs_the_run(store, make_run, make_turn):
    run = make_run()
    with pytest.raises(RunNotFound):
        store.save_turn(run.id, make_turn(run, 0))


def test_create_run_twice_is_an_error(store, make_run):
    run = make_run()
    store.create_run(run)
    with pytest.raises(ValueError, match=run.id):
        store.create_run(run)


def test_save_turn_appends_in_order_and_replaces_by_index(store, make_run, make_turn):
    run = make_run()
    store.create_run(run)
    for i in (0, 2, 1):
        store.save_turn(run.id, make_turn(run, i))
    store.save_turn(run.id, make_turn(run, 1, content="edited"))

    got = store.get_run(run.id)
    assert [t.index for t in got.turns] == [0, 1, 2]
    assert got.turns[1].content == "edited"
    assert count_turns(store, run.id) == 3


def test_turn_is_visible_to_another_store_at_once(store, open_store, make_run, make_turn):
    run = make_run()
    store.create_run(run)
    reader = open_store()  # e.g. another process on the same database
    store.save_turn(run.id, make_turn(run, 0, content="first words"))

    seen = reader.get_run(run.id)
    assert seen.status == RunStatus.RUNNING
    assert [t.content for t in seen.turns] == ["first words"]
    assert reader.list_runs(RunQuery(search="first words")).total == 1


def test_set_status(store, make_run):
    run = make_run()
    store.create_run(run)

    store.set_status(run.id, RunStatus.PAUSED)
    paused = store.get_run(run.id)
    assert paused.status == RunStatus.PAUSED and paused.finished_at is None

    end = datetime(2026, 3, 1, 12, 5, tzinfo=UTC)
    store.set_status(run.id, "error", stop_reason="error", error="Rate limited", finished_at=end)
    got = store.get_run(run.id)
    assert (got.status, got.stop_reason, got.error, got.finished_at) == (
        RunStatus.ERROR,
        "error",
        "Rate limited",
        end,
    )
    summary = store.list_runs().items[0]
    assert summary.duration_s == 300.0

    store.set_status(run.id, RunStatus.COMPLETED, stop_reason="max_turns")
    done = store.get_run(run.id)
    assert done.finished_at is not None and done.finished_at.tzinfo is UTC
    assert done.error is None


def test_aggregates_follow_the_turns(store, make_run, make_turn):
    run = make_run()
    store.create_run(run)

    def summary():
        (item,) = store.list_runs().items
        return item

    assert (summary().turn_count, summary().input_tokens, summary().cost_usd) == (0, 0, 0.0)

    store.save_turn(run.id, make_turn(run, 0, cost=0.25))  # 100 in, 50 out
    store.save_turn(run.id, make_turn(run, 1, cost=0.5))  # 101 in, 51 out
    s = summary()
    assert (s.turn_count, s.input_tokens, s.output_tokens) == (2, 201, 101)
    assert s.cost_usd == pytest.approx(0.75)
    assert s.total_tokens == 302

    store.save_turn(run.id, Turn(index=2, bot_index=None, bot_name="Sam", content="hi"))
    assert summary().turn_count == 3 and summary().cost_usd == pytest.approx(0.75)

    store.save_turn(run.id, make_turn(run, 3, cost=None))  # a model without a known price
    assert summary().cost_usd is None
    store.save_turn(run.id, make_turn(run, 3, cost=0.25))  # replaced: known again
    assert summary().cost_usd == pytest.approx(1.0)
    assert summary().turn_count == 4


def test_create_run_with_turns_sets_aggregates(store, make_run):
    run = make_run(turns=3)
    store.create_run(run)
    (s,) = store.list_runs().items
    assert s.turn_count == 3
    assert s.input_tokens == sum(t.input_tokens for t in run.turns)
    assert s.cost_usd == pytest.approx(run.total_cost_usd)


def test_delete_cascades_to_turns(store, make_run):
    keep, gone = make_run(turns=2), make_run(turns=3)
    store.create_run(keep)
    store.create_run(gone)

    assert store.delete_run(gone.id) is True
    assert store.get_run(gone.id) is None
    assert count_turns(store, gone.id) == 0
    assert count_turns(store, keep.id) == 2
    assert store.delete_run(gone.id) is False


def test_mark_interrupted(store, make_run, make_turn):
    live = {s: make_run(status=s) for s in RunStatus}
    for run in live.values():
        store.create_run(run)
    running = live[RunStatus.RUNNING]
    store.save_turn(running.id, make_turn(running, 0))

    ids = store.mark_interrupted()

    assert sorted(ids) == sorted([running.id, live[RunStatus.PAUSED].id])
    for status, run in live.items():
        got = store.get_run(run.id)
        if status.live:
            assert got.status == RunStatus.INTERRUPTED
            assert got.stop_reason == "interrupted"
            assert got.finished_at is not None and got.finished_at >= run.created_at
        else:
            assert got.status == status
    assert store.mark_interrupted() == []


def test_concurrent_writers_and_readers(store, make_run, make_turn):
    runs_ = [make_run(f"topic {i}") for i in range(6)]
    turns_each = 15
    start = threading.Barrier(len(runs_) + 2)
    errors: list[BaseException] = []
    done = threading.Event()

    def write(run):
        try:
            start.wait()
            store.create_run(run)
            for i in range(turns_each):
                store.save_turn(run.id, make_turn(run, i))
        except BaseException as e:  # reported below
            errors.append(e)

    def read():
        try:
            start.wait()
            while not done.is_set():
                page = store.list_runs(RunQuery(search="turn"))
                for item in page.items:
                    store.get_run(item.id)
        except BaseException as e:
            errors.append(e)

    writers = [threading.Thread(target=write, args=(r,)) for r in runs_]
    readers = [threading.Thread(target=read) for _ in range(2)]
    for t in writers + readers:
        t.start()
    for t in writers:
        t.join(timeout=120)
    done.set()
    for t in readers:
        t.join(timeout=60)

    assert errors == []
    page = store.list_runs()
    assert page.total == len(runs_)
    assert {s.turn_count for s in page.items} == {turns_each}
    for run in runs_:
        assert [t.index for t in store.get_run(run.id).turns] == list(range(turns_each))


def test_a_saved_config_that_no_longer_validates_still_loads(store, make_run, make_turn):
    run = make_run(turns=1)
    store.create_run(run)
    stale = run.config.model_dump(mode="json")
    stale["bots"][0].update(provider="anthropic", model="claude-old", temperature=0.7)
    with store.engine.begin() as conn:
        conn.execute(update(runs).where(runs.c.id == run.id).values(config=stale))
        conn.execute(update(turns).where(turns.c.run_id == run.id).values(config=stale["bots"][0]))

    got = store.get_run(run.id)
    assert got.config.bots[0].temperature == 0.7
    assert isinstance(got.turns[0].config, BotConfig)
    assert got.turns[0].config.provider == "anthropic"
