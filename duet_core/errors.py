"""Errors a user may see. Each message says what to do about it."""

from __future__ import annotations


class DuetError(Exception):
    """Base of every error Duet shows to a person."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(DuetError):
    """Invalid input: a config file, a form value, a command-line argument."""


class AccessDenied(DuetError):
    """The user may not see or change this run."""


class NotFound(DuetError, LookupError):
    """No such thing that this person may see (another user's run reads as missing too)."""


class Conflict(DuetError):
    """The request does not fit the state of what it names: the run has ended, or it runs
    in another process."""


class RunLimitError(DuetError):
    """Too many runs started or running; try again later."""


class TooManyRunsStarted(RunLimitError):
    """The person started their runs-per-minute; ``retry_after``: seconds until one more."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


class ServerBusy(RunLimitError):
    """This process already runs as many runs as it may (``DUET_MAX_ACTIVE_RUNS``)."""


class ProviderError(DuetError):
    """A model provider failed. ``retryable`` says whether trying again may help."""

    retryable = False


class MissingKey(ProviderError):
    pass


class AuthenticationFailed(ProviderError):
    pass


class ModelNotFound(ProviderError):
    pass


class RateLimited(ProviderError):
    retryable = True


class ProviderUnavailable(ProviderError):
    """The server could not be reached or answered with a server error."""

    retryable = True


class Overloaded(ProviderUnavailable):
    """The provider said it is overloaded (HTTP 503/529, an ``overloaded_error``): waiting and
    sending fewer requests at once helps, as with a rate limit."""


class StreamInterrupted(ProviderError):
    """The stream was cut before the reply finished."""

    retryable = True


class StreamStalled(ProviderError):
    """No data arrived within the read timeout."""

    retryable = True


class BadRequest(ProviderError):
    """The provider refused the request (HTTP 400/422): a setting it does not accept."""
