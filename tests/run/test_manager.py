"""The run manager: limits, lookup, continuing, recovery after a dead process."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from duet_core.errors import AccessDenied, ConfigError, RunLimitError, TooManyRunsStarted
from duet_core.models import Run, RunStatus, Turn
from duet_core.providers.scripted import Hold, ScriptedProvider
from duet_core.run.manager import RunManager
from duet_core.store.schema import run_continues, runs
from tests.run.conftest import make_config, wait_status


def manager_for(store, settings, provider, **overrides) -> RunManager:
    settings = settings.model_copy(update=overrides)
    return RunManager(store, settings, lambda bot, keys: provider)


def test_rate_limit_per_user_per_minute(store, settings, provider):
    m = manager_for(store, settings, provider, runs_per_minute=2)
    for _ in range(2):
        wait_status(m.start(make_config(max_turns=1), "alice"), RunStatus.COMPLETED)
    with pytest.raises(RunLimitError, match="2 runs in the last minute"):
        m.start(make_config(max_turns=1), "alice")
    # another user has their own allowance; dev mode / CLI skip the limit
    wait_status(m.start(make_config(max_turns=1), "bob"), RunStatus.COMPLETED)
    wait_status(m.start(make_config(max_turns=1), "alice", rate_limited=False), RunStatus.COMPLETED)
    age_runs(store, 61)  # the limit counts the runs created in the last minute, in the database
    wait_status(m.start(make_config(max_turns=1), "alice"), RunStatus.COMPLETED)


def age_runs(store, seconds: float) -> None:
    """Every saved run, as if created (and continued) ``seconds`` earlier."""
    with store.engine.begin() as conn:
        for run_id, created in conn.execute(select(runs.c.id, runs.c.created_at)).all():
            when = created - timedelta(seconds=seconds)
            conn.execute(update(runs).where(runs.c.id == run_id).values(created_at=when))
        for row_id, at in conn.execute(select(run_continues.c.id, run_continues.c.continued_at)):
            when = at - timedelta(seconds=seconds)
            conn.execute(
                update(run_continues).where(run_continues.c.id == row_id).values(continued_at=when)
            )


def test_rate_limit_counts_runs_started_by_other_processes(store, settings, provider):
    """Runs the user created through another process (another replica, the command line)
    count too: the limit is read from the database."""
    m = manager_for(store, settings, provider, runs_per_minute=2)
    other = manager_for(store, settings, provider, runs_per_minute=2)
    wait_status(other.start(make_config(max_turns=1), "alice"), RunStatus.COMPLETED)
    wait_status(m.start(make_config(max_turns=1), "alice"), RunStatus.COMPLETED)
    with pytest.raises(TooManyRunsStarted, match="2 runs in the last minute") as refused:
        m.start(make_config(max_turns=1), "alice")
    assert 1 <= refused.value.retry_after <= 60


def test_cap_on_active_runs(store, settings, provider):
    holds = [Hold(), Hold()]
    provider.enqueue([holds[0]], [holds[1]])
    m = manager_for(store, settings, provider, max_active_runs=2)
    runs = [m.start(make_config(), "alice"), m.start(make_config(), "bob")]
    assert all(h.reached.wait(5) for h in holds)
    with pytest.raises(RunLimitError, match="limit is 2"):
        m.start(make_config(), "carol")
    m.stop_all(timeout=2)
    assert all(not r.alive for r in runs)
    assert all(store.get_run(r.id).status is RunStatus.STOPPED for r in runs)


def test_max_turns_is_capped_server_wide(store, settings, provider):
    m = manager_for(store, settings, provider, max_turns=3)
    live = m.start(make_config(max_turns=40), "alice")
    wait_status(live, RunStatus.COMPLETED)
    saved = store.get_run(live.id)
    assert saved.config.max_turns == 3 and len(saved.turns) == 3


def test_lookup_respects_ownership(store, settings, provider):
    m = manager_for(store, settings, provider)
    live = m.start(make_config(max_turns=1), "alice")
    assert m.get(live.id) is live
    assert m.get_for(live.id, "alice") is live
    assert m.get_for(live.id, "root", is_admin=True) is live
    with pytest.raises(AccessDenied):
        m.get_for(live.id, "bob")
    assert m.get("nope") is None
    live.join(2)


def test_continue_a_stopped_run_from_where_it_ended(store, settings):
    provider = ScriptedProvider()
    hold = Hold()
    provider.enqueue("Ada one", ["Bob half", hold], "Ada two", "Bob two")
    m = manager_for(store, settings, provider)
    live = m.start(make_config(max_turns=4), "alice")
    assert hold.reached.wait(5)
    live.stop()
    live.join(1)
    with pytest.raises(AccessDenied):
        m.continue_run(live.id, "bob")

    again = m.continue_run(live.id, "alice")
    assert again.id == live.id
    wait_status(again, RunStatus.COMPLETED)
    saved = store.get_run(live.id)
    assert [(t.index, t.bot_name, t.content) for t in saved.turns] == [
        (0, "Ada", "Ada one"),
        (1, "Bob", "Bob half"),
        (2, "Ada", "Ada two"),
        (3, "Bob", "Bob two"),
    ]
    assert saved.status is RunStatus.COMPLETED and saved.finished_at is not None
    # Ada's continued turn saw Bob's stopped partial turn as the last user message
    assert provider.calls[2].messages[-1] == {"role": "user", "content": "Bob half"}
    with pytest.raises(ConfigError, match="more turns"):
        m.continue_run(live.id, "alice")
    extended = m.continue_run(live.id, "alice", extra_turns=1)
    wait_status(extended, RunStatus.COMPLETED)
    assert len(store.get_run(live.id).turns) == 5


def test_runs_left_running_by_a_dead_process_become_interrupted(store, settings, provider):
    dead = Run(owner="alice", config=make_config())
    store.create_run(dead)
    store.save_turn(dead.id, Turn(index=0, bot_index=0, bot_name="Ada", content="hello"))
    finished = Run(owner="alice", config=make_config(), status=RunStatus.COMPLETED)
    store.create_run(finished)

    m = manager_for(store, settings, provider)
    assert m.recover_interrupted() == [dead.id]
    saved = store.get_run(dead.id)
    assert saved.status is RunStatus.INTERRUPTED and [t.content for t in saved.turns] == ["hello"]
    assert store.get_run(finished.id).status is RunStatus.COMPLETED
    wait_status(m.continue_run(dead.id, "alice"), RunStatus.COMPLETED)
    assert len(store.get_run(dead.id).turns) == 4


def test_continue_is_refused_at_the_server_turn_cap(store, settings, provider):
    m = manager_for(store, settings, provider, max_turns=2)
    live = m.start(make_config(max_turns=2), "alice")
    wait_status(live, RunStatus.COMPLETED)
    with pytest.raises(ConfigError, match="DUET_MAX_TURNS=2"):
        m.continue_run(live.id, "alice", extra_turns=3)
