"""Fixtures that drive the real SDKs, through the provider classes, at a local fake server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from duet_core.models import BotConfig
from duet_core.providers import clear_client_cache
from duet_core.providers.anthropic_format import AnthropicProvider
from duet_core.providers.openai_format import OpenAIChatProvider
from tests.providers.provider_fakes import (
    API_KEY,
    DEADLINE,
    FakeServer,
    Reply,
    anthropic_error,
    anthropic_stream,
    openai_error,
    openai_stream,
    sse,
)

# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _offline_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No real key from the environment, and SDK defaults that point nowhere."""
    for name in (
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "DUET_COMPATIBLE_API_KEY",
        "OPENAI_COMPATIBLE_API_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    clear_client_cache()


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer().start()
    yield server
    server.stop()


@dataclass
class Format:
    """One wire format under test: how to make its provider, bot, and scripted replies."""

    name: str
    make: Callable[..., Any]  # (**kwargs) -> provider pointed at the fake server
    bot: Callable[..., BotConfig]
    stream: Callable[..., Reply]  # a normal streaming reply
    error: Callable[..., Reply]  # (status, message, kind, **headers) -> an error reply
    stream_error: bytes  # an in-stream error event (overloaded)


@pytest.fixture
def openai_format(fake: FakeServer) -> Format:
    def make(timeout: float = DEADLINE, max_retries: int = 0, compatible: bool = False):
        return OpenAIChatProvider(
            API_KEY, f"{fake.url}/v1", timeout, max_retries, compatible=compatible
        )

    def bot(**kw: Any) -> BotConfig:
        return BotConfig(**{"name": "Ada", "provider": "openai", "model": "gpt-4.1-mini", **kw})

    def error(status: int, message: str, kind: str = "invalid_request_error", **headers: str):
        return openai_error(status, message, kind, **headers)

    overloaded = sse({"error": {"message": "The server is overloaded", "type": "server_error"}})
    return Format("openai", make, bot, openai_stream, error, overloaded)


@pytest.fixture
def anthropic_format(fake: FakeServer) -> Format:
    def make(timeout: float = DEADLINE, max_retries: int = 0):
        return AnthropicProvider(API_KEY, fake.url, timeout, max_retries)

    def bot(**kw: Any) -> BotConfig:
        return BotConfig(
            **{"name": "Claude", "provider": "anthropic", "model": "claude-sonnet-5-5", **kw}
        )

    def error(status: int, message: str, kind: str = "invalid_request_error", **headers: str):
        return anthropic_error(status, kind, message, **headers)

    overloaded = sse(
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, "error"
    )
    return Format("anthropic", make, bot, anthropic_stream, error, overloaded)


@pytest.fixture(params=["openai", "anthropic"])
def fmt(request: pytest.FixtureRequest) -> Format:
    return request.getfixturevalue(f"{request.param}_format")
