"""The runs-per-minute limit across processes (SQLite file and PostgreSQL): runs a person
continued count like runs they created, in the database, so two processes sharing it (two
replicas, the pages and the command line) hold one limit."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from duet_core.errors import TooManyRunsStarted
from duet_core.models import BotConfig, RunConfig, RunStatus
from duet_core.providers.scripted import ScriptedProvider
from duet_core.run.manager import RunManager
from duet_core.settings import Settings
from duet_core.store import Store

CONFIG = RunConfig(
    topic="Trams or buses?",
    max_turns=1,
    bots=[BotConfig(name="Ada"), BotConfig(name="Bob")],
)


@pytest.fixture
def two_processes(db_url: str, open_store: Callable[[], Store]):
    """Two run managers, each with its own store on the one database, as two processes."""
    settings = Settings(database_url=db_url, runs_per_minute=2, _env_file=None)
    provider = ScriptedProvider()
    managers = [RunManager(open_store(), settings, lambda bot, keys: provider) for _ in "ab"]
    yield managers
    for m in managers:
        m.close()


def finished(live) -> None:
    assert live.join(10) and live.status is RunStatus.COMPLETED


def test_a_continue_in_one_process_counts_in_the_other(two_processes) -> None:
    here, there = two_processes
    run = here.start(CONFIG, "alice")  # 1 of 2
    finished(run)
    finished(here.continue_run(run.id, "alice", extra_turns=1))  # 2 of 2
    with pytest.raises(TooManyRunsStarted, match="2 runs in the last minute") as refused:
        there.continue_run(run.id, "alice", extra_turns=1)
    assert 1 <= refused.value.retry_after <= 60
    with pytest.raises(TooManyRunsStarted):
        there.start(CONFIG, "alice")
    finished(there.start(CONFIG, "bob"))  # bob has his own allowance


def test_continues_without_the_limit_still_count(two_processes) -> None:
    """A continue from the command line (not rate limited) counts against the pages' limit,
    as a run created there does."""
    here, there = two_processes
    run = here.start(CONFIG, "alice", rate_limited=False)
    finished(run)
    finished(here.continue_run(run.id, "alice", extra_turns=1, rate_limited=False))
    with pytest.raises(TooManyRunsStarted, match="2 runs in the last minute"):
        there.start(CONFIG, "alice")
    created = here.store.get_run(run.id).created_at
    assert here.store.runs_started_since("alice", created)[0] == 2
