"""Request bodies: JSON only (415 otherwise) and at most 1 MB (413), checked before any route
reads them. A body sent without a length (chunked) is counted as it arrives."""

from __future__ import annotations

import json

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY = 1_000_000
WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def _answer(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class BodyLimits:
    """ASGI middleware: 415 for a body that is not JSON, 413 for one over ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WITH_BODY:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        length = headers.get("content-length")
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        if length is not None:
            try:
                size = int(length)
            except ValueError:
                await _answer(send, 400, "Content-Length is not a number.")
                return
            if size < 0:
                await _answer(send, 400, "Content-Length is not a number.")
                return
        else:
            size = 0
        if not (size or chunked):  # no body (e.g. POST .../stop): nothing to check
            await self.app(scope, receive, send)
            return
        if not is_json(headers.get("content-type", "")):
            await _answer(
                send, 415, "Send the body as JSON, with the header Content-Type: application/json."
            )
            return
        if size > self.max_bytes:
            await _answer(send, 413, f"The body is over {self.max_bytes // 1_000_000} MB.")
            return
        seen = 0

        async def counted() -> Message:  # a body without a length, counted as it arrives
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:  # (FastAPI passes an HTTPException on as it is)
                    raise HTTPException(413, f"The body is over {self.max_bytes // 1_000_000} MB.")
            return message

        await self.app(scope, counted, send)
