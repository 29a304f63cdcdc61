"""What each kind of failure becomes, for both wire formats, through the real SDKs."""

from __future__ import annotations

import socket
import time

import pytest

from duet_core.errors import (
    AuthenticationFailed,
    BadRequest,
    ModelNotFound,
    ProviderUnavailable,
    RateLimited,
    StreamInterrupted,
    StreamStalled,
)
from duet_core.providers.anthropic_format import AnthropicProvider
from duet_core.providers.base import Finish, Usage
from duet_core.providers.openai_format import OpenAIChatProvider
from tests.providers.provider_fakes import API_KEY, DEADLINE, USER_ONLY, Reply, text_of


def consume(stream):
    """Iterate to the end; return (chunks, error)."""
    chunks = []
    try:
        for chunk in stream:
            chunks.append(chunk)
    except Exception as e:
        return chunks, e
    return chunks, None


def test_normal_reply(fake, fmt):
    chunks = list(fmt.make().open("Be brief.", USER_ONLY, fmt.bot()))
    assert text_of(chunks) == "Hello"
    assert chunks[-2:] == [Usage(5, 2), Finish("stop")]


def test_429_then_success_is_retried_by_the_sdk(fake, fmt):
    fake.push(fmt.error(429, "Slow down", "rate_limit_error", **{"retry-after-ms": "1"}))
    chunks = list(fmt.make(max_retries=1).open("", USER_ONLY, fmt.bot()))
    assert text_of(chunks) == "Hello"
    assert len(fake.requests) == 2


def test_429_after_the_retries_is_rate_limited(fake, fmt):
    limited = fmt.error(429, "Slow down", "rate_limit_error", **{"retry-after-ms": "1"})
    fake.push(limited, limited)
    _, error = consume(fmt.make(max_retries=1).open("", USER_ONLY, fmt.bot()))
    assert isinstance(error, RateLimited)
    assert "after 1 retry" in str(error)
    assert "Slow down" in str(error)
    assert "Wait" in str(error)
    assert error.retryable
    assert len(fake.requests) == 2


def test_401_is_a_rejected_key_and_never_shows_it(fake, fmt):
    fake.push(fmt.error(401, f"Incorrect API key provided: {API_KEY}", "authentication_error"))
    _, error = consume(fmt.make().open("", USER_ONLY, fmt.bot()))
    assert isinstance(error, AuthenticationFailed)
    env = "OPENAI_API_KEY" if fmt.name == "openai" else "ANTHROPIC_API_KEY"
    label = "OpenAI" if fmt.name == "openai" else "Anthropic"
    assert str(error) == f"The {label} API key was rejected. Check {env} or paste a valid key."
    assert error.__cause__ is None and error.__suppress_context__


def test_403_is_a_rejected_key(fake, fmt):
    fake.push(fmt.error(403, "Not allowed", "permission_error"))
    _, error = consume(fmt.make().open("", USER_ONLY, fmt.bot()))
    assert isinstance(error, AuthenticationFailed)


def test_404_is_an_unknown_model(fake, fmt):
    fake.push(fmt.error(404, "The model does not exist", "not_found_error"))
    bot = fmt.bot(model="no-such-model")
    _, error = consume(fmt.make().open("", USER_ONLY, bot))
    assert isinstance(error, ModelNotFound)
    label = "OpenAI" if fmt.name == "openai" else "Anthropic"
    assert str(error) == f"Model 'no-such-model' was not found at {label}; pick another model."


def test_400_is_a_bad_request_with_the_servers_message(fake, fmt):
    fake.push(fmt.error(400, f"max_tokens: too large for this model (key {API_KEY})"))
    _, error = consume(fmt.make().open("", USER_ONLY, fmt.bot()))
    assert isinstance(error, BadRequest)
    assert "max_tokens: too large for this model" in str(error)
    assert "HTTP 400" in str(error)
    assert API_KEY not in str(error)


@pytest.mark.parametrize(("status", "kind"), [(500, "api_error"), (529, "overloaded_error")])
def test_server_errors_are_unavailable(fake, fmt, status, kind):
    fake.push(fmt.error(status, "Something broke", kind))
    _, error = consume(fmt.make().open("", USER_ONLY, fmt.bot()))
    assert isinstance(error, ProviderUnavailable)
    assert error.retryable


def test_an_unreachable_server_says_so(fmt):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    if fmt.name == "openai":
        provider = OpenAIChatProvider(API_KEY, f"http://127.0.0.1:{port}/v1", 5, 0)
        url = f"http://127.0.0.1:{port}/v1"
    else:
        provider = AnthropicProvider(API_KEY, f"http://127.0.0.1:{port}", 5, 0)
        url = f"http://127.0.0.1:{port}"
    _, error = consume(provider.open("", USER_ONLY, fmt.bot()))
    assert isinstance(error, ProviderUnavailable)
    assert str(error).startswith(f"Cannot reach {url}: is the server running?")


def test_a_stream_cut_midway_is_interrupted(fake, fmt):
    fake.push(fmt.stream(text=["Part ", "of ", "it"]).cut_after(4))
    chunks, error = consume(fmt.make().open("", USER_ONLY, fmt.bot()))
    assert isinstance(error, StreamInterrupted)
    assert "dropped" in str(error)
    assert text_of(chunks).startswith("Part ")


def test_a_clean_close_before_the_end_is_interrupted(fake, fmt):
    # The body ends properly after two text deltas: no finish_reason, usage or [DONE]
    # (OpenAI); no content_block_stop, message_delta or message_stop (Anthropic).
    reply = fmt.stream(text=["Part ", "of ", "it"])
    fake.push(reply.end_after(2 if fmt.name == "openai" else 5))
    chunks, error = consume(fmt.make().open("", USER_ONLY, fmt.bot()))
    assert isinstance(error, StreamInterrupted)
    assert "closed the stream before the reply was finished" in str(error)
    assert not any(isinstance(c, Finish) for c in chunks)


def test_an_error_event_in_the_stream_is_reported(fake, fmt):
    reply = fmt.stream(text=["Part"])
    fake.push(Reply(events=[*reply.events[:2], fmt.stream_error]))
    _, error = consume(fmt.make().open("", USER_ONLY, fmt.bot()))
    assert isinstance(error, ProviderUnavailable)
    assert "overloaded" in str(error).lower()


def test_a_stalled_stream_times_out(fake, fmt):
    fake.push(fmt.stream(text=["Part ", "of ", "it"]).stall_after(4))
    started = time.monotonic()
    chunks, error = consume(fmt.make(timeout=0.5).open("", USER_ONLY, fmt.bot()))
    assert isinstance(error, StreamStalled)
    assert "nothing for 0.5 s" in str(error)
    assert text_of(chunks).startswith("Part ")
    assert time.monotonic() - started < DEADLINE


def test_no_first_byte_within_the_timeout_is_stalled(fake, fmt):
    fake.push(fmt.stream().hang())
    _, error = consume(fmt.make(timeout=0.5).open("", USER_ONLY, fmt.bot()))
    assert isinstance(error, StreamStalled)
    assert "sent no answer within 0.5 s" in str(error)
