"""Prompt Lab tests: the real SDKs at the local fake server (tests/providers/provider_fakes.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from duet_core.models import BotConfig, Run, RunConfig, RunStatus
from duet_core.providers import clear_client_cache, make_provider
from duet_core.run.engine import LiveRun
from duet_core.settings import Settings
from tests.providers.provider_fakes import API_KEY, DEADLINE, FakeServer

# the store's fixtures, on both databases: db_url, open_store (SQLite and PostgreSQL)
from tests.store.conftest import (  # noqa: F401
    db_url,
    open_store,
    pg_server,
)


@pytest.fixture(autouse=True)
def _offline_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No real key from the environment, and SDK defaults that point nowhere."""
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "DUET_COMPATIBLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    clear_client_cache()


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer().start()
    yield server
    server.stop()


@pytest.fixture
def settings(fake: FakeServer) -> Settings:
    return Settings(
        OPENAI_API_KEY=API_KEY,
        ANTHROPIC_API_KEY=API_KEY,
        OPENAI_BASE_URL=f"{fake.url}/v1",
        ANTHROPIC_BASE_URL=fake.url,
        max_retries=0,
        request_timeout=DEADLINE,
        _env_file=None,
    )


@pytest.fixture
def provider_for(settings: Settings):
    return lambda bot: make_provider(bot, settings)


GPT = BotConfig(
    name="Gpt",
    provider="openai",
    model="gpt-4.1-mini",
    temperature=0.7,
    system_prompt="You are Gpt.",
)
CLAUDE = BotConfig(
    name="Claude",
    provider="anthropic",
    model="claude-sonnet-5-5",
    effort="low",
    system_prompt="You are Claude.",
    max_tokens=3000,
)


def recorded_run(provider_for, turns: int = 4, bots=(GPT, CLAUDE)) -> Run:
    """A run between the two bots, made by the engine through the real SDKs."""
    config = RunConfig(topic="Is tea better than coffee?", max_turns=turns, bots=list(bots))
    live = LiveRun(Run(config=config), provider_for).start()
    assert live.join(30) and live.status is RunStatus.COMPLETED
    return live.snapshot().run
