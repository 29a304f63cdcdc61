"""Warm-up at start-up, so a fresh process's first turn starts as fast as its second.

Without it the first turn pays for importing the SDKs, building their clients (an SSL
context), starting the provider event loop, the first streamed response's lazy imports and
parser set-up: over a second that used to land in turn 1's time to first token. ``warm_up``
does all of that without leaving the machine: each SDK streams one canned reply from a
loopback server through the same code path a turn takes. (The local model is not warmed: its
server starts, in a child process, with the first turn that needs it; see local.py.)

Call it once when a process starts (the app, ``python -m duet_core run``); with
``background=True`` it returns at once and warms on a daemon thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

_OPENAI_SSE = (
    b'data: {"id":"w","object":"chat.completion.chunk","choices":[{"index":0,'
    b'"delta":{"content":"ok"},"finish_reason":"stop"}]}\n\n'
    b'data: {"id":"w","object":"chat.completion.chunk","choices":[],'
    b'"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}\n\n'
    b"data: [DONE]\n\n"
)
_ANTHROPIC_SSE = b"".join(
    b"event: " + name + b"\ndata: " + data + b"\n\n"
    for name, data in (
        (
            b"message_start",
            b'{"type":"message_start","message":{"id":"w","type":"message","role":"assistant",'
            b'"model":"m","content":[],"stop_reason":null,"stop_sequence":null,'
            b'"usage":{"input_tokens":1,"output_tokens":1}}}',
        ),
        (b"ping", b'{"type":"ping"}'),
        (
            b"content_block_start",
            b'{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}',
        ),
        (
            b"content_block_delta",
            b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"ok"}}',
        ),
        (b"content_block_stop", b'{"type":"content_block_stop","index":0}'),
        (
            b"message_delta",
            b'{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},'
            b'"usage":{"output_tokens":1}}',
        ),
        (b"message_stop", b'{"type":"message_stop"}'),
    )
)


async def _serve_once(body: bytes) -> tuple[asyncio.Server, str]:
    """A loopback HTTP server on the provider loop that answers every request with ``body``."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        await reader.readexactly(length)
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n"
            b"content-length: %d\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


def _warm_sdk(provider_name: str) -> None:
    """Stream one canned reply through ``provider_name``'s real provider class and the real
    HTTP stack (a loopback server on the provider loop), so nothing is imported or built
    lazily on the first real turn."""
    from duet_core.models import BotConfig
    from duet_core.providers import event_loop

    body = _ANTHROPIC_SSE if provider_name == "anthropic" else _OPENAI_SSE
    server, url = event_loop.run_sync(_serve_once(body), timeout=10)
    try:
        if provider_name == "anthropic":
            from duet_core.providers.anthropic_format import AnthropicProvider

            provider: Any = AnthropicProvider("warm-up", url, timeout=10, max_retries=0)
            bot = BotConfig(provider="anthropic", model="claude-sonnet-5-5")
        else:
            from duet_core.providers.openai_format import OpenAIChatProvider

            provider = OpenAIChatProvider("warm-up", url + "/v1", timeout=10, max_retries=0)
            bot = BotConfig(provider="openai", model="gpt-4.1-mini")
        for _ in provider.open("warm-up", [{"role": "user", "content": "hi"}], bot):
            pass
        event_loop.run_sync(provider.client.close(), timeout=10)
    finally:
        server.close()


def _warm(settings: Any, providers: Iterable[str] | None) -> None:
    from duet_core import catalog
    from duet_core.models import BotConfig
    from duet_core.providers import make_provider

    wanted = set(catalog.PROVIDERS if providers is None else providers)
    formats = {catalog.PROVIDER_SPECS[p].request_format for p in wanted if p in catalog.PROVIDERS}
    for fmt in ("openai", "anthropic"):
        if fmt in formats:
            _warm_sdk(fmt)
    catalog.warm_up_prices()
    if settings is not None:
        # The clients a first turn will use: built now (SSL context and all), then cached.
        for name in ("openai", "anthropic"):
            if name in wanted and settings.api_key(name):
                with contextlib.suppress(Exception):
                    make_provider(
                        BotConfig(provider=name, model=catalog.DEFAULT_MODELS[name]), settings
                    )


def warm_up(
    settings: Any = None, providers: Iterable[str] | None = None, *, background: bool = False
) -> threading.Thread | None:
    """Warm the SDKs for ``providers`` (default: all of them).

    ``settings`` (duet_core.settings.Settings) also builds the cached clients for the keys it
    holds. Never raises: a failed warm-up only means a slower first turn.
    """

    def run() -> None:
        try:
            _warm(settings, list(providers) if providers is not None else None)
        except Exception:
            log.warning("provider warm-up failed; the first turn may start slower", exc_info=True)

    if not background:
        run()
        return None
    thread = threading.Thread(target=run, name="duet-warm-up", daemon=True)
    thread.start()
    return thread
