"""Turn the SDKs' exceptions into Duet's errors, with messages that say what to do.

Messages never contain the API key: any text that came from the server is scrubbed of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import anthropic
import httpx2
import openai

from duet_core.errors import (
    AuthenticationFailed,
    BadRequest,
    ModelNotFound,
    Overloaded,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    StreamInterrupted,
    StreamStalled,
)

_TIMEOUTS = (openai.APITimeoutError, anthropic.APITimeoutError, httpx2.TimeoutException)
_CONNECTION = (openai.APIConnectionError, anthropic.APIConnectionError, httpx2.TransportError)
_STATUS = (openai.APIStatusError, anthropic.APIStatusError)
_API = (openai.APIError, anthropic.APIError)

_UNAVAILABLE_TYPES = {"overloaded_error", "api_error", "server_error", "service_unavailable"}
_OVERLOAD_TYPES = {"overloaded_error", "service_unavailable"}
_OVERLOAD_STATUSES = {503, 529}
_RATE_TYPES = {"rate_limit_error", "rate_limit_exceeded", "requests", "tokens"}
_REQUEST_TYPES = {"invalid_request_error", "invalid_request"}


@dataclass(frozen=True)
class Where:
    """Who answered, for the messages: a provider's label, base URL and key variable."""

    label: str  # "OpenAI", "Anthropic", "the server at http://localhost:11434/v1"
    base_url: str
    own_server: bool  # an OpenAI-compatible server the user runs (Ollama, vLLM, ...)
    key_env: str  # the variable that holds the key, e.g. OPENAI_API_KEY
    max_retries: int
    timeout: float
    secret: str = field(default="", repr=False)  # the API key: removed from any text shown

    @property
    def after_retries(self) -> str:
        n = self.max_retries
        return f" (still after {n} {'retry' if n == 1 else 'retries'})" if n else ""

    @property
    def subject(self) -> str:
        """The label at the start of a sentence."""
        return self.label[:1].upper() + self.label[1:]

    def scrub(self, text: str) -> str:
        if self.secret and len(self.secret) >= 4:
            text = text.replace(self.secret, "[API key]")
        return text


def server_message(exc: BaseException) -> str:
    """The human part of an API error: the body's ``error.message`` when there is one."""
    message = getattr(exc, "api_message", None)  # anthropic extracts it for us
    body = getattr(exc, "body", None)
    if not message and isinstance(body, dict):
        inner = body.get("error")
        message = inner.get("message") if isinstance(inner, dict) else body.get("message")
    if not message and isinstance(body, str):
        message = body
    if not message:
        message = getattr(exc, "message", None) or str(exc)
    message = " ".join(str(message).split())
    if len(message) > 300:
        message = message[:300] + "…"
    return message if message.endswith((".", "!", "?", "…")) else message + "."


def _error_type(exc: BaseException) -> str:
    return str(getattr(exc, "type", None) or getattr(exc, "code", None) or "")


def map_error(
    exc: BaseException, where: Where, model: str, *, started: bool
) -> ProviderError | None:
    """The Duet error for an SDK exception, or None when ``exc`` is not a provider failure.

    ``started`` says whether the reply had begun streaming (a drop then is an interruption,
    before it the server could not be reached).
    """
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, _TIMEOUTS):
        return _stalled(where, started)
    if isinstance(exc, _CONNECTION):
        if started:
            return StreamInterrupted(
                f"The connection to {where.label} dropped in the middle of the reply."
                " Try again; if it keeps happening, check your network or the server's logs."
            )
        return ProviderUnavailable(
            f"Cannot reach {where.base_url}: is the server running?{where.after_retries}"
            " Check the base URL and your network connection."
        )
    status = exc.status_code if isinstance(exc, _STATUS) else None
    if isinstance(exc, _API) and status in (None, 200):
        return _in_stream(exc, where, model)
    if status is None:
        return None
    return _from_status(exc, status, where, model)


def _stalled(where: Where, started: bool) -> StreamStalled:
    seconds = f"{where.timeout:g} s"
    if started:
        return StreamStalled(
            f"{where.subject} stopped sending in the middle of the reply (nothing for {seconds})."
            " Try again; if replies are often this slow, raise DUET_REQUEST_TIMEOUT."
        )
    return StreamStalled(
        f"{where.subject} sent no answer within {seconds}{where.after_retries}."
        " Try again; if the model is slow to start, raise DUET_REQUEST_TIMEOUT."
    )


def _from_status(exc: BaseException, status: int, where: Where, model: str) -> ProviderError:
    said = where.scrub(server_message(exc))
    if where.own_server:
        key = f"{where.subject} rejected the API key"
    else:
        key = f"The {where.label} API key was rejected"
    if status == 401:
        return AuthenticationFailed(f"{key}. Check {where.key_env} or paste a valid key.")
    if status == 403:
        return AuthenticationFailed(
            f"{key} for model '{model}' (HTTP 403: not allowed). Check the key's permissions"
            f" ({where.key_env}), paste another key, or pick another model."
        )
    if status == 404:
        hint = " or check the base URL (it usually ends in /v1)" if where.own_server else ""
        return ModelNotFound(
            f"Model '{model}' was not found at {where.label}; pick another model{hint}."
        )
    if status == 429:
        return RateLimited(
            f"{where.subject} is rate limiting these requests{where.after_retries}: {said}"
            " Wait a minute before trying again, or run fewer bots or turns at a time."
        )
    if status in _OVERLOAD_STATUSES or _error_type(exc) in _OVERLOAD_TYPES:
        return Overloaded(
            f"{where.subject} is overloaded (HTTP {status}){where.after_retries}: {said}"
            " Try again in a moment, or pick another model."
        )
    if status >= 500 or _error_type(exc) in _UNAVAILABLE_TYPES:
        return ProviderUnavailable(
            f"{where.subject} had a server error (HTTP {status}){where.after_retries}: {said}"
            " Try again in a moment, or pick another model."
        )
    if status in (408, 409):
        return ProviderUnavailable(
            f"{where.subject} could not serve the request (HTTP {status}){where.after_retries}."
            " Try again in a moment."
        )
    return BadRequest(
        f"{where.subject} refused the request for model '{model}' (HTTP {status}): {said}"
        " Change the setting it names and try again."
    )


def _in_stream(exc: BaseException, where: Where, model: str) -> ProviderError:
    """An error event inside a stream that had started with HTTP 200."""
    kind = _error_type(exc)
    said = where.scrub(server_message(exc))
    if kind == "overloaded_error":
        return Overloaded(
            f"{where.subject} is overloaded right now and cut the reply short."
            " Try again in a moment, or pick another model."
        )
    if kind in _RATE_TYPES:
        return RateLimited(
            f"{where.subject} is rate limiting these requests: {said}"
            " Wait a minute before trying again."
        )
    if kind in _REQUEST_TYPES:
        return BadRequest(
            f"{where.subject} refused the request for model '{model}': {said}"
            " Change the setting it names and try again."
        )
    return ProviderUnavailable(
        f"{where.subject} reported an error in the middle of the reply: {said} Try again."
    )


def interrupted(where: Where) -> StreamInterrupted:
    """The stream ended cleanly but before the reply said it was finished."""
    return StreamInterrupted(
        f"{where.subject} closed the stream before the reply was finished. Try again;"
        " if it keeps happening, check the server's logs."
    )
