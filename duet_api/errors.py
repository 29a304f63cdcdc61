"""Every error as JSON ``{"detail": "one line"}`` with the status it deserves.

One handler maps ``DuetError`` subclasses to statuses (``status_of``); a 422 carries a list of
field errors (FastAPI's shape: ``loc``, ``msg``, ``type``), never the input itself (it may hold
a key). Anything unexpected is a 500 whose detail says to look in the server's log, where the
traceback is; the answer never has a traceback, SQL or a key.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from duet_core.errors import (
    AccessDenied,
    ConfigError,
    Conflict,
    DuetError,
    MissingKey,
    ProviderError,
    RunLimitError,
    ServerBusy,
    TooManyRunsStarted,
)
from duet_core.redact import redact
from duet_core.store.store import LeaseLost, StoreError

log = logging.getLogger("duet.api")
CHALLENGE = 'Bearer realm="duet", Basic realm="duet", charset="UTF-8"'


class Unauthorized(DuetError):
    """No credentials, or wrong ones."""


class Forbidden(DuetError):
    """The caller's role may not do this."""


class ServiceUnavailable(DuetError):
    """The server cannot serve now (its database or settings are wrong)."""


def status_of(e: DuetError) -> int:
    if isinstance(e, Unauthorized):
        return 401
    if isinstance(e, Forbidden):
        return 403
    if isinstance(e, AccessDenied | LookupError):  # another user's run reads as missing
        return 404
    if isinstance(e, Conflict | LeaseLost):
        return 409
    if isinstance(e, TooManyRunsStarted):
        return 429
    if isinstance(e, ServerBusy | RunLimitError | StoreError | ServiceUnavailable):
        return 503
    if isinstance(e, ConfigError | MissingKey):
        return 422
    if isinstance(e, ProviderError):
        return 502
    return 400


def one_line(text: str) -> str:
    return redact(" ".join(str(text).split()))


def field_error(message: str, loc: tuple[Any, ...] = ("body",)) -> dict[str, Any]:
    return {"loc": list(loc), "msg": one_line(message), "type": "value_error"}


def duet_error_response(e: DuetError) -> JSONResponse:
    status = status_of(e)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = CHALLENGE
    if isinstance(e, TooManyRunsStarted):
        headers["Retry-After"] = str(max(1, math.ceil(e.retry_after)))
    if status == 422:
        return JSONResponse({"detail": [field_error(e.message)]}, 422, headers)
    if status == 503 and not isinstance(e, ServerBusy):
        log.warning("service unavailable: %s", one_line(e.message))
    return JSONResponse({"detail": one_line(e.message)}, status, headers)


async def _duet_error(request: Request, e: Exception) -> JSONResponse:
    assert isinstance(e, DuetError)
    return duet_error_response(e)


def validation_details(errors: Any) -> list[dict[str, Any]]:
    """FastAPI's field errors without the input that failed (it may be long, or a key)."""
    out = []
    for err in errors:
        msg = str(err.get("msg", "")).removeprefix("Value error, ")
        out.append({"loc": list(err.get("loc", ())), "msg": one_line(msg), "type": err.get("type")})
    return out


async def _invalid_request(request: Request, e: Exception) -> JSONResponse:
    assert isinstance(e, RequestValidationError)
    return JSONResponse({"detail": validation_details(e.errors())}, 422)


BODY_UNREADABLE = "There was an error parsing the body"  # FastAPI's words for a body it
# could not decode (not UTF-8): answered as the 422 a malformed JSON body gets


async def _http_error(request: Request, e: Exception) -> JSONResponse:
    assert isinstance(e, HTTPException)
    if e.status_code == 400 and e.detail == BODY_UNREADABLE:
        detail = [
            {"loc": ["body"], "msg": "The body is not JSON in UTF-8.", "type": "json_invalid"}
        ]
        return JSONResponse({"detail": detail}, 422)
    return JSONResponse({"detail": e.detail}, e.status_code, headers=e.headers)


async def _unexpected(request: Request, e: Exception) -> JSONResponse:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=e)
    return JSONResponse(
        {"detail": "Internal error: this is a bug in Duet; the server's log has the details."},
        500,
    )


def install(api: FastAPI) -> None:
    api.add_exception_handler(DuetError, _duet_error)
    api.add_exception_handler(RequestValidationError, _invalid_request)
    api.add_exception_handler(HTTPException, _http_error)
    api.add_exception_handler(Exception, _unexpected)
