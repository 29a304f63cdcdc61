"""OpenAI Chat Completions streaming: OpenAI itself and OpenAI-compatible servers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import openai

from duet_core.models import BotConfig
from duet_core.providers.base import Chunk, Finish, Message, TextDelta, ThinkingDelta, Usage
from duet_core.providers.errors_map import Where, interrupted
from duet_core.providers.sdk_base import (
    DEFAULT_STALL_TIMEOUT,
    KEEPALIVE,
    SDKProvider,
    http_timeout,
)

JSON_REPLY_NAME = "reply"  # the name OpenAI's response_format gives the schema


class OpenAIChatProvider(SDKProvider):
    """Streams ``chat.completions.create`` for provider ``openai`` or ``openai_compatible``.

    ``base_url`` None means the SDK's default (``OPENAI_BASE_URL`` or api.openai.com).
    ``timeout`` is the HTTP read timeout; ``stall`` the limit on a stream without content
    (keep-alive comments do not count). Retries are the SDK's own (``max_retries``); a
    started stream is never retried.
    """

    def __init__(
        self,
        api_key: str,
        base_url: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 2,
        *,
        compatible: bool = False,
        stall: float = DEFAULT_STALL_TIMEOUT,
    ):
        self.name = "openai_compatible" if compatible else "openai"
        self.compatible = compatible
        self.stall = stall
        self.client = openai.AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            timeout=http_timeout(timeout),
            max_retries=max_retries,
            http_client=openai.DefaultAsyncHttpxClient(limits=KEEPALIVE),
        )
        url = str(self.client.base_url).rstrip("/")
        self.where = Where(
            label=f"the server at {url}" if compatible else "OpenAI",
            base_url=url,
            own_server=compatible,
            key_env="DUET_COMPATIBLE_API_KEY" if compatible else "OPENAI_API_KEY",
            max_retries=max_retries,
            timeout=timeout,
            secret=api_key,
        )

    def build_request(self, system: str, messages: list[Message], bot: BotConfig) -> dict:
        chat: list[dict] = [{"role": "system", "content": system}] if system else []
        chat += [{"role": m["role"], "content": m["content"]} for m in messages]
        request: dict = {
            "model": bot.model,
            "messages": chat,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        # OpenAI deprecated max_tokens (its reasoning models reject it) for
        # max_completion_tokens, which all its chat models take; self-hosted servers
        # reliably know only max_tokens.
        request["max_tokens" if self.compatible else "max_completion_tokens"] = bot.max_tokens
        if bot.temperature is not None:
            request["temperature"] = bot.temperature
        if bot.top_p is not None:
            request["top_p"] = bot.top_p
        if bot.effort is not None:
            request["reasoning_effort"] = bot.effort
        return request

    def ask_json(self, request: dict, bot: BotConfig, schema: dict[str, Any]) -> dict:
        """Structured outputs: ``response_format`` with the schema, strict. OpenAI takes it, and
        so do the usual self-hosted servers (vLLM, Ollama, LM Studio, llama.cpp's server)."""
        return {
            **request,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": JSON_REPLY_NAME, "schema": schema, "strict": True},
            },
        }

    async def send(self, request: dict) -> openai.AsyncStream:
        """The SDK's own request (headers, retries, errors, SSE parsing) for
        ``chat.completions.create(**request)``, whose body ``request`` already is, with each
        chunk handed back as the plain JSON object it arrived as (``cast_to=object``): building
        a pydantic model per token was a fifth of the CPU of a hundred streams at once."""
        return await self.client.post(
            "/chat/completions",
            body=request,
            cast_to=object,
            stream=True,
            stream_cls=openai.AsyncStream[object],
        )

    async def read(self, sdk_stream: openai.AsyncStream) -> AsyncIterator[Chunk]:
        finish_reason = None
        async for chunk in sdk_stream:
            if not isinstance(chunk, dict):
                continue  # not a chunk of this format
            usage = chunk.get("usage")
            if isinstance(usage, dict):
                yield Usage(usage.get("prompt_tokens"), usage.get("completion_tokens"))
            choices = chunk.get("choices")
            if not choices or not isinstance(choices, list) or not isinstance(choices[0], dict):
                continue
            choice = choices[0]
            delta = choice.get("delta")
            if isinstance(delta, dict):
                # self-hosted servers send their reasoning text as an extra field
                thinking = delta.get("reasoning_content") or delta.get("reasoning")
                if isinstance(thinking, str) and thinking:
                    yield ThinkingDelta(thinking)
                content = delta.get("content")
                if isinstance(content, str) and content:
                    yield TextDelta(content)
            if choice.get("finish_reason"):
                finish_reason = choice["finish_reason"]
        # The SDK ends the loop quietly on a clean close, with or without [DONE]: only a
        # finish_reason tells a finished reply from a cut one.
        if finish_reason is None:
            raise interrupted(self.where)
        yield Finish(finish_reason)
