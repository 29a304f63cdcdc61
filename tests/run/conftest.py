"""Engine tests: a scripted provider and a temp SQLite store per test."""

from __future__ import annotations

import time

import pytest

from duet_core.models import BotConfig, RunConfig, RunStatus
from duet_core.providers.scripted import ScriptedProvider
from duet_core.settings import Settings
from duet_core.store import Store


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'duet.db'}")
    yield s
    s.close()


@pytest.fixture
def provider():
    return ScriptedProvider()


@pytest.fixture
def settings(tmp_path):
    return Settings(database_url=f"sqlite:///{tmp_path / 'duet.db'}", _env_file=None)


def make_config(max_turns: int = 4, **kw) -> RunConfig:
    bots = [
        BotConfig(name="Ada", system_prompt="You are Ada, a mathematician.", temperature=0.7),
        BotConfig(name="Bob", system_prompt="You are Bob, a poet.", temperature=0.7),
    ]
    return RunConfig(topic="Is maths invented?", max_turns=max_turns, bots=bots, **kw)


def wait_status(live, *statuses: RunStatus, timeout: float = 30.0) -> RunStatus:
    """Follow the run's events until it reaches one of ``statuses``."""
    from duet_core.run.events import StatusChanged

    sub = live.subscribe()
    deadline = time.monotonic() + timeout
    try:
        while live.status not in statuses:
            left = deadline - time.monotonic()
            event = sub.get(timeout=max(left, 0.001))
            if isinstance(event, StatusChanged) and event.status in statuses:
                return event.status
            if left <= 0:
                raise AssertionError(f"run stayed {live.status}, wanted {statuses}")
        return live.status
    finally:
        live.unsubscribe(sub)
