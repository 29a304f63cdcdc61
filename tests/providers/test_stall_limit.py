"""The stall limit on content: keep-alive traffic alone never keeps a turn waiting forever."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from duet_core.errors import ConfigError, StreamStalled
from duet_core.models import BotConfig
from duet_core.providers import make_provider
from duet_core.providers.anthropic_format import AnthropicProvider
from duet_core.providers.openai_format import OpenAIChatProvider
from duet_core.providers.sdk_base import DEFAULT_STALL_TIMEOUT
from duet_core.settings import load_settings
from tests.providers.provider_fakes import API_KEY, DEADLINE, USER_ONLY, Reply, sse, text_of

STALL = 0.6  # seconds without content
SECRETS = Path("/nonexistent/secrets.toml")  # no secrets file: the environment only
BEAT = 0.1  # seconds between keep-alive messages: far below the HTTP read timeout

OPENAI_KEEPALIVE = b": keep-alive\n\n"
ANTHROPIC_PING = sse({"type": "ping"}, "ping")
ANTHROPIC_START = sse(
    {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "m",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 5, "output_tokens": 1},
        },
    },
    "message_start",
)


def keepalive_only(fmt_name: str, seconds: float) -> Reply:
    """A 200 stream that sends nothing but keep-alive traffic for ``seconds``."""
    beats = int(seconds / BEAT)
    if fmt_name == "openai":
        return Reply(events=[OPENAI_KEEPALIVE] * beats, delay=BEAT, ending="stall")
    return Reply(events=[ANTHROPIC_START] + [ANTHROPIC_PING] * beats, delay=BEAT, ending="stall")


def provider_for(fmt, fake, stall: float):
    if fmt.name == "openai":
        return OpenAIChatProvider(API_KEY, f"{fake.url}/v1", DEADLINE, 0, stall=stall)
    return AnthropicProvider(API_KEY, fake.url, DEADLINE, 0, stall=stall)


def test_only_keepalive_traffic_is_a_stall(fake, fmt):
    reply = keepalive_only(fmt.name, seconds=30)
    fake.push(reply)
    started = time.monotonic()
    with pytest.raises(StreamStalled, match="DUET_STALL_TIMEOUT") as caught:
        list(provider_for(fmt, fake, STALL).open("", USER_ONLY, fmt.bot()))
    took = time.monotonic() - started
    assert STALL <= took < STALL + DEADLINE
    assert "0.6 s" in str(caught.value)
    assert reply.disconnected.wait(DEADLINE), "the stalled stream was left open"


def test_content_resets_the_stall_clock(fake, fmt):
    # events 0.15 s apart: about 1.5 s in all, never 0.6 s without content
    fake.push(fmt.stream(text=["a", "b", "c", "d", "e", "f"]).slowly(0.15))
    chunks = list(provider_for(fmt, fake, STALL).open("", USER_ONLY, fmt.bot()))
    assert text_of(chunks) == "abcdef"


def test_stall_limit_comes_from_the_settings_only(monkeypatch):
    """DUET_STALL_TIMEOUT reaches the provider through Settings, the one reader of the
    environment (a bad value is refused there, naming the variable)."""
    monkeypatch.delenv("DUET_STALL_TIMEOUT", raising=False)
    assert load_settings(SECRETS).stall_timeout == DEFAULT_STALL_TIMEOUT >= 120
    monkeypatch.setenv("DUET_STALL_TIMEOUT", "42.5")
    settings = load_settings(SECRETS, openai_api_key="sk-stall")
    provider = make_provider(BotConfig(provider="openai", model="gpt-4o-mini"), settings)
    assert provider.stall == 42.5
    for bad in ("soon", "0", "-3", "inf", "nan"):
        monkeypatch.setenv("DUET_STALL_TIMEOUT", bad)
        with pytest.raises(ConfigError, match="DUET_STALL_TIMEOUT"):
            load_settings(SECRETS)


def test_started_at_is_when_the_request_went_out(fake, fmt):
    stream = fmt.make().open("", USER_ONLY, fmt.bot())
    assert stream.started_at is None  # opening sends nothing
    before = time.perf_counter()
    list(stream)
    assert stream.started_at is not None and stream.started_at >= before
