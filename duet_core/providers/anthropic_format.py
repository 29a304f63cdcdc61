"""Anthropic Messages streaming.

The current API (sent by anthropic 2.x) takes no sampling parameters at all: temperature,
top_p and top_k are never sent, whatever the BotConfig holds. The knobs are ``max_tokens``,
effort (``output_config``) and extended thinking.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anthropic

from duet_core import catalog
from duet_core.models import BotConfig
from duet_core.providers.base import Chunk, Finish, Message, TextDelta, ThinkingDelta, Usage
from duet_core.providers.errors_map import Where, interrupted
from duet_core.providers.sdk_base import (
    DEFAULT_STALL_TIMEOUT,
    KEEPALIVE,
    SDKProvider,
    http_timeout,
)
from duet_core.vocabulary import FinishReason

# Anthropic's words onto the vocabulary's; others (refusal ...) are kept as they are
STOP_REASONS = {"end_turn": FinishReason.STOP, "max_tokens": FinishReason.LENGTH}
# models from before structured outputs (Claude 3.x, Sonnet 4 and Opus 4 of May 2025)
NO_STRUCTURED_OUTPUT = re.compile(
    r"claude-(3|instant|2|(sonnet|opus)-4-(0|2025)|(sonnet|opus)-4$)", re.IGNORECASE
)


class AnthropicProvider(SDKProvider):
    """Streams ``messages.create(stream=True)`` and maps its raw events to chunks.

    ``base_url`` None means the SDK's default (``ANTHROPIC_BASE_URL`` or api.anthropic.com).
    ``timeout`` is the HTTP read timeout; ``stall`` the limit on a stream without content
    (``ping`` events do not count); retries are the SDK's own (``max_retries``).
    """

    name = "anthropic"

    def __init__(
        self,
        api_key: str,
        base_url: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 2,
        *,
        stall: float = DEFAULT_STALL_TIMEOUT,
    ):
        self.stall = stall
        self.client = anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=base_url,
            timeout=http_timeout(timeout),
            max_retries=max_retries,
            http_client=anthropic.DefaultAsyncHttpxClient(limits=KEEPALIVE),
        )
        self.where = Where(
            label="Anthropic",
            base_url=str(self.client.base_url).rstrip("/"),
            own_server=False,
            key_env="ANTHROPIC_API_KEY",
            max_retries=max_retries,
            timeout=timeout,
            secret=api_key,
        )

    def build_request(self, system: str, messages: list[Message], bot: BotConfig) -> dict:
        request: dict = {
            "model": bot.model,
            "max_tokens": bot.max_tokens,
            "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
            "stream": True,
        }
        if system:
            request["system"] = system
        if bot.effort is not None:
            request["output_config"] = {"effort": bot.effort}
        if bot.thinking_budget > 0:
            if catalog.profile("anthropic", bot.model).adaptive_thinking:
                # the newest models refuse a budget: they decide how long to think
                request["thinking"] = {"type": "adaptive"}
            else:
                request["thinking"] = {"type": "enabled", "budget_tokens": bot.thinking_budget}
        return request

    def ask_json(self, request: dict, bot: BotConfig, schema: dict[str, Any]) -> dict:
        """Structured outputs (``output_config.format``), beside any effort, for the models that
        take it (Claude 4.5 and later, Opus 4.1); older ones rely on the prompt alone."""
        if NO_STRUCTURED_OUTPUT.match(bot.model):
            return request
        config = {
            **request.get("output_config", {}),
            "format": {"type": "json_schema", "schema": schema},
        }
        return {**request, "output_config": config}

    async def send(self, request: dict) -> anthropic.AsyncStream:
        return await self.client.messages.create(**request)

    async def read(self, sdk_stream: anthropic.AsyncStream) -> AsyncIterator[Chunk]:
        input_tokens = None
        stop_reason = None
        async for event in sdk_stream:
            if event.type == "message_start":
                input_tokens = event.message.usage.input_tokens
            elif event.type == "content_block_start":
                for chunk in _block_text(event.content_block):
                    yield chunk
            elif event.type == "content_block_delta":
                if event.delta.type == "text_delta":
                    yield TextDelta(event.delta.text)
                elif event.delta.type == "thinking_delta":
                    yield ThinkingDelta(event.delta.thinking)
                # signature_delta and others carry nothing to show
            elif event.type == "message_delta":
                stop_reason = event.delta.stop_reason or stop_reason
                usage = event.usage
                yield Usage(
                    input_tokens=getattr(usage, "input_tokens", None) or input_tokens,
                    output_tokens=usage.output_tokens,
                )
            # message_stop: the loop ends with the body, which leaves the connection reusable
        # A clean close before message_delta/message_stop ends the SDK's loop quietly.
        if stop_reason is None:
            raise interrupted(self.where)
        yield Finish(STOP_REASONS.get(stop_reason, stop_reason))


def _block_text(block: object) -> Iterator[Chunk]:
    """Text that a content block already carries when it starts (usually none)."""
    kind = getattr(block, "type", None)
    if kind == "text" and getattr(block, "text", ""):
        yield TextDelta(block.text)  # type: ignore[attr-defined]
    elif kind == "thinking" and getattr(block, "thinking", ""):
        yield ThinkingDelta(block.thinking)  # type: ignore[attr-defined]
