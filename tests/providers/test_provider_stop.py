"""Stop: ChunkStream.close() from another thread ends the turn at once, at any point."""

from __future__ import annotations

import time

import pytest

from duet_core.models import BotConfig
from duet_core.providers.anthropic_format import AnthropicProvider
from duet_core.providers.base import TextDelta
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

QUICK = 1.0  # seconds: "at once"
NO_RETRY_PAUSE = 0.3  # seconds: below the SDKs' shortest retry backoff (0.5 s minus 25% jitter)
WORDS = ["one ", "two ", "three ", "four ", "five"]
# After 4 events both formats are mid-reply: OpenAI has sent 4 text deltas and no
# finish_reason; Anthropic message_start, ping, content_block_start and one text delta.
MID_REPLY = 4
SENT = {"openai": "one two three four ", "anthropic": "one "}  # the text before the stall


def test_close_while_the_stream_stalls_ends_the_reader_at_once(fake, fmt):
    reply = fmt.stream(text=WORDS).stall_after(MID_REPLY)
    fake.push(reply)
    # a long read timeout: only the close can end this turn quickly
    stream = fmt.make(timeout=30).open("", USER_ONLY, fmt.bot())
    consumer = Consumer(stream)
    consumer.start()
    assert reply.stalled.wait(DEADLINE)
    # everything sent has been read: the reader is now blocked on the silent socket
    assert consumer.wait_for_text(SENT[fmt.name])
    assert consumer.is_alive()

    started = time.monotonic()
    stream.close()
    consumer.join(QUICK)

    assert not consumer.is_alive(), "the reading thread is still blocked after close()"
    assert time.monotonic() - started < QUICK
    assert consumer.error is None  # what the transport raised because of the close is swallowed
    assert text_of(consumer.chunks) == SENT[fmt.name]
    assert reply.disconnected.wait(QUICK), "the server never saw the client go away"


def test_close_while_waiting_for_the_first_byte_ends_at_once_without_a_retry(fake, fmt):
    reply = fmt.stream().hang()
    fake.push(reply)
    stream = fmt.make(timeout=30, max_retries=2).open("", USER_ONLY, fmt.bot())
    consumer = Consumer(stream)
    consumer.start()
    assert reply.stalled.wait(DEADLINE)
    assert consumer.is_alive()

    started = time.monotonic()
    stream.close()
    consumer.join(QUICK)

    assert not consumer.is_alive(), "the request kept waiting for headers after close()"
    # The SDKs wait at least 0.375 s before a retry: ending sooner shows there was none.
    assert time.monotonic() - started < NO_RETRY_PAUSE
    assert consumer.error is None
    assert consumer.chunks == []
    assert reply.disconnected.wait(QUICK)
    assert len(fake.requests) == 1, "the SDK retried a request that was stopped"


def test_close_before_iterating_makes_no_request(fake, fmt):
    stream = fmt.make().open("", USER_ONLY, fmt.bot())
    stream.close()
    assert list(stream) == []
    assert fake.requests == []


def test_breaking_out_early_disconnects(fake, fmt):
    reply = fmt.stream(text=WORDS).stall_after(MID_REPLY)
    fake.push(reply)
    with fmt.make(timeout=30).open("", USER_ONLY, fmt.bot()) as stream:
        for chunk in stream:
            if isinstance(chunk, TextDelta):
                break
    assert reply.disconnected.wait(QUICK)


def test_a_provider_serves_a_new_turn_after_a_stop(fake, fmt):
    stalled = fmt.stream(text=WORDS).stall_after(MID_REPLY)
    fake.push(stalled, fmt.stream(text=["fine"]))
    provider = fmt.make(timeout=30)
    first = provider.open("", USER_ONLY, fmt.bot())
    consumer = Consumer(first)
    consumer.start()
    assert stalled.stalled.wait(DEADLINE)
    first.close()
    consumer.join(QUICK)
    assert not consumer.is_alive()

    assert text_of(provider.open("", USER_ONLY, fmt.bot())) == "fine"


@pytest.fixture
def tls_fake(tmp_path, monkeypatch):
    context, cert_file = self_signed_tls(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))  # read when a client is built
    server = FakeServer(tls=context).start()
    yield server
    server.stop()


@pytest.mark.parametrize("phase", ["waiting for the first byte", "streaming"])
@pytest.mark.parametrize("name", ["openai", "anthropic"])
def test_close_over_tls_ends_at_once(tls_fake, name, phase):
    if name == "openai":
        provider = OpenAIChatProvider(API_KEY, f"{tls_fake.url}/v1", 30, 2)
        bot = BotConfig(provider="openai", model="gpt-4.1-mini")
        normal = openai_stream(text=WORDS)
    else:
        provider = AnthropicProvider(API_KEY, tls_fake.url, 30, 2)
        bot = BotConfig(provider="anthropic", model="claude-sonnet-5-5")
        normal = anthropic_stream(text=WORDS)
    reply = normal.stall_after(MID_REPLY) if phase == "streaming" else normal.hang()
    tls_fake.push(reply)
    stream = provider.open("", USER_ONLY, bot)
    consumer = Consumer(stream)
    consumer.start()
    assert reply.stalled.wait(DEADLINE)
    if phase == "streaming":
        assert consumer.wait_for_text(SENT[name])
    assert consumer.is_alive()

    stream.close()
    consumer.join(QUICK)

    assert not consumer.is_alive()
    assert consumer.error is None
    assert reply.disconnected.wait(QUICK)
    assert len(tls_fake.requests) == 1
