"""Error messages: what each SDK exception becomes, and that the key never shows."""

from __future__ import annotations

import anthropic
import httpx2
import openai
import pytest

from duet_core.errors import BadRequest, ProviderUnavailable, RateLimited, StreamInterrupted
from duet_core.providers.errors_map import Where, map_error

KEY = "sk-secret-key-123"
WHERE = Where("OpenAI", "https://api.openai.com/v1", False, "OPENAI_API_KEY", 2, 60.0, KEY)


def response(status: int) -> httpx2.Response:
    return httpx2.Response(status, request=httpx2.Request("POST", "https://api.example/v1"))


def test_server_text_is_scrubbed_of_the_key():
    body = {"message": f"Bad value near {KEY}", "type": "invalid_request_error"}
    exc = openai.UnprocessableEntityError("x", response=response(422), body=body)
    error = map_error(exc, WHERE, "gpt-4.1", started=False)
    assert isinstance(error, BadRequest)
    assert KEY not in str(error)
    assert "Bad value near [API key]" in str(error)
    assert KEY not in repr(WHERE)


def test_retries_are_counted_in_words():
    exc = openai.RateLimitError("x", response=response(429), body={"message": "Too many"})
    error = map_error(exc, WHERE, "gpt-4.1", started=False)
    assert isinstance(error, RateLimited)
    assert str(error).startswith("OpenAI is rate limiting these requests (still after 2 retries)")


def test_connection_drop_before_and_after_the_stream_started():
    exc = openai.APIConnectionError(request=httpx2.Request("POST", "https://api.example/v1"))
    before = map_error(exc, WHERE, "m", started=False)
    after = map_error(exc, WHERE, "m", started=True)
    assert isinstance(before, ProviderUnavailable)
    assert str(before).startswith("Cannot reach https://api.openai.com/v1: is the server running?")
    assert isinstance(after, StreamInterrupted)


def test_raw_transport_errors_mid_stream():
    where = Where("Anthropic", "https://api.anthropic.com", False, "ANTHROPIC_API_KEY", 0, 5, KEY)
    dropped = map_error(httpx2.RemoteProtocolError("peer closed"), where, "m", started=True)
    assert isinstance(dropped, StreamInterrupted)
    stalled = map_error(httpx2.ReadTimeout("timed out"), where, "m", started=True)
    assert type(stalled).__name__ == "StreamStalled"


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("overloaded_error", ProviderUnavailable),
        ("rate_limit_error", RateLimited),
        ("invalid_request_error", BadRequest),
        ("api_error", ProviderUnavailable),
    ],
)
def test_anthropic_error_events_in_a_stream(kind, expected):
    body = {"type": "error", "error": {"type": kind, "message": "It went wrong"}}
    exc = anthropic.APIStatusError("x", response=response(200), body=body)
    assert isinstance(map_error(exc, WHERE, "m", started=True), expected)


def test_other_exceptions_are_not_provider_failures():
    assert map_error(ValueError("a bug"), WHERE, "m", started=True) is None
