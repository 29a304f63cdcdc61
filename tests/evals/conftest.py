"""Evaluation tests: judges through the real SDKs at the local fake server
(tests/providers/provider_fakes.py), the store on SQLite (and on PostgreSQL where the store's
own fixtures are used), votes and the leaderboard."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from duet_core.models import BotConfig, Run, RunStatus
from duet_core.providers import clear_client_cache, make_provider
from duet_core.settings import Settings
from duet_core.store import Store

# the HTTP API's served app (api: uvicorn on 127.0.0.1, a temp database, accounts, tokens)
from tests.api.conftest import api, auth_file, settings_overrides  # noqa: F401
from tests.providers.provider_fakes import (
    API_KEY,
    DEADLINE,
    FakeServer,
    Reply,
    anthropic_stream,
    openai_stream,
)

# the store's fixtures, on both databases: db_url, open_store, make_run, make_turn, ...
from tests.store.conftest import (  # noqa: F401
    _make_run,
    bots,
    db_url,
    make_run,
    make_turn,
    open_store,
    pg_server,
)

RUBRIC = [
    {"role": "system", "content": "You judge debates on {{ topic }}."},
    {"role": "human", "content": "The conversation:\n\n{{ transcript }}\n\nHow good was it?"},
]
TURN_RUBRIC = [
    {"role": "system", "content": "You judge one turn of a debate on {{ topic }}."},
    {
        "role": "human",
        "content": "{{ transcript }}\n\nJudge turn {{ turn_index }} by {{ speaker }}:\n{{ turn }}",
    },
]


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


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'duet.db'}")
    yield store
    store.close()


@pytest.fixture
def saved_run(sqlite_store: Store) -> Callable[..., Run]:
    """``saved_run(turns=4, **make_run options)``: a completed run saved in ``sqlite_store``."""

    def make(turns: int = 4, **kw) -> Run:
        run = _make_run(status=RunStatus.COMPLETED, turns=turns, **kw)
        sqlite_store.create_run(run)
        return run

    return make


JUDGES = {
    "openai": BotConfig(name="Judge", provider="openai", model="gpt-4.1-mini"),
    "anthropic": BotConfig(name="Judge", provider="anthropic", model="claude-sonnet-5-5"),
}


def answer(fmt: str, text: str, usage: tuple[int, int] = (50, 10)) -> Reply:
    """A streamed reply of ``text`` in ``fmt``'s wire format, in a few pieces."""
    pieces = [text[i : i + 7] for i in range(0, len(text), 7)] or [""]
    if fmt == "openai":
        return openai_stream(pieces, usage=usage)
    return anthropic_stream(pieces, usage=usage)


def verdict(score: object, reason: str = "Clear and civil.") -> str:
    return json.dumps({"score": score, "reason": reason})
