"""Warm-up at start-up, so a fresh process's first turn starts as fast as its second.

Without it the first turn pays for importing the SDKs, building their clients (an SSL
context), starting the provider event loop, the first streamed response's lazy imports and
parser set-up, and loading a local model: over a second that used to land in turn 1's time to
first token. ``warm_up`` does all of that without any network access: each SDK streams one
canned reply from an in-memory transport through the same code path a turn takes.

Call it once when a process starts (the app, ``python -m duet_core run``); with
``background=True`` it returns at once and warms on a daemon thread.
"""

from __future__ import annotations

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


def _canned(body: bytes) -> Any:
    import httpx2

    def reply(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    return httpx2.AsyncClient(transport=httpx2.MockTransport(reply))


def _warm_sdk(provider_name: str) -> None:
    """Stream one canned reply through ``provider_name``'s real provider class."""
    from duet_core.models import BotConfig

    if provider_name == "anthropic":
        from duet_core.providers.anthropic_format import AnthropicProvider

        provider: Any = AnthropicProvider("warm-up", "http://warm-up.invalid")
        provider.client = provider.client.with_options(http_client=_canned(_ANTHROPIC_SSE))
        bot = BotConfig(provider="anthropic", model="claude-sonnet-5-5")
    else:
        from duet_core.providers.openai_format import OpenAIChatProvider

        provider = OpenAIChatProvider("warm-up", "http://warm-up.invalid/v1")
        provider.client = provider.client.with_options(http_client=_canned(_OPENAI_SSE))
        bot = BotConfig(provider="openai", model="gpt-4.1-mini")
    for _ in provider.open("warm-up", [{"role": "user", "content": "hi"}], bot):
        pass


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
    if "local" in wanted:
        from duet_core.providers.local import local_model_status, local_provider

        if local_model_status()[0]:
            local_provider().load()


def warm_up(
    settings: Any = None, providers: Iterable[str] | None = None, *, background: bool = False
) -> threading.Thread | None:
    """Warm the SDKs (and the local model) for ``providers`` (default: all of them).

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
