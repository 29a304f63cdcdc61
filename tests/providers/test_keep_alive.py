"""Connections are reused between turns, and Stop still cuts the one in use at once."""

from __future__ import annotations

import time

import pytest

from duet_core.models import BotConfig
from duet_core.providers.anthropic_format import AnthropicProvider
from duet_core.providers.openai_format import OpenAIChatProvider
from tests.providers.provider_fakes import (
    API_KEY,
    DEADLINE,
    USER_ONLY,
    Consumer,
    FakeServer,
    anthropic_stream,
    openai_stream,
    self_signed_tls,
    text_of,
)

WORDS = ["one ", "two ", "three ", "four ", "five"]


def make(name: str, url: str):
    if name == "openai":
        provider = OpenAIChatProvider(API_KEY, f"{url}/v1", 30, 0)
        return provider, BotConfig(provider="openai", model="gpt-4.1-mini"), openai_stream
    provider = AnthropicProvider(API_KEY, url, 30, 0)
    return provider, BotConfig(provider="anthropic", model="claude-sonnet-5-5"), anthropic_stream


@pytest.fixture(params=["http", "https"])
def server(request, tmp_path, monkeypatch):
    tls = None
    if request.param == "https":
        tls, cert_file = self_signed_tls(tmp_path)
        monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))  # read when a client is built
    fake = FakeServer(tls, keep_alive=True).start()
    yield fake
    fake.stop()


@pytest.mark.parametrize("name", ["openai", "anthropic"])
def test_turns_reuse_one_connection(server, name):
    provider, bot, stream = make(name, server.url)
    for i in range(3):
        server.push(stream(text=[f"turn {i}"]))
        assert text_of(provider.open("", USER_ONLY, bot)) == f"turn {i}"
    assert len(server.requests) == 3
    assert server.connections == 1


@pytest.mark.parametrize("name", ["openai", "anthropic"])
def test_stop_cuts_the_connection_in_use_and_the_next_turn_opens_another(server, name):
    provider, bot, stream = make(name, server.url)
    server.push(stream(text=["warm"]))
    assert text_of(provider.open("", USER_ONLY, bot)) == "warm"

    stalled = stream(text=WORDS).stall_after(4)
    server.push(stalled, stream(text=["after"]))
    consumer = Consumer(provider.open("", USER_ONLY, bot))
    consumer.start()
    assert stalled.stalled.wait(DEADLINE)
    started = time.monotonic()
    consumer.stream.close()
    consumer.join(1.0)
    assert not consumer.is_alive()
    assert time.monotonic() - started < 1.0
    assert consumer.error is None
    assert stalled.disconnected.wait(1.0), "the server never saw the client go away"

    assert text_of(provider.open("", USER_ONLY, bot)) == "after"
    assert server.connections == 2  # the stopped turn's connection was not put back
