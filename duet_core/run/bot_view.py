"""How each bot sees the conversation (docs/design.md, "How each bot sees the conversation")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from duet_core.catalog import estimate_tokens
from duet_core.models import BotConfig, Turn
from duet_core.providers.base import Message
from duet_core.templates import PROVIDER_ROLE

CONTINUE_PROMPT = "Please continue."


def merge_roles(pairs: Sequence[tuple[str, str]]) -> list[Message]:
    """Join consecutive messages with the same role by a blank line."""
    out: list[Message] = []
    for role, text in pairs:
        if out and out[-1]["role"] == role:
            out[-1] = {"role": role, "content": f"{out[-1]['content']}\n\n{text}"}
        else:
            out.append({"role": role, "content": text})  # type: ignore[typeddict-item]
    return out


def bot_view(
    topic: str,
    turns: Sequence[Turn],
    bot_index: int,
    bot: BotConfig,
    persona: Sequence[Mapping[str, Any]] | None = None,
) -> tuple[str, list[Message]]:
    """The system prompt and the message list that bot ``bot_index`` is sent for its next turn.

    The topic opens as ``user``; the bot's own turns are ``assistant``; its partner's and a
    person's turns are ``user``. Same-role neighbours are merged so the list alternates, starts
    and ends with ``user``. When the history outgrows the bot's context window, the oldest turns
    go first; the topic, the system prompt and the persona's examples stay.

    ``persona``: rendered template messages (``duet_core.run.persona``) instead of
    ``bot.system_prompt``: its ``system`` messages, joined by a blank line, are the system
    prompt; its ``human``/``ai`` messages are examples placed before the topic (``ai`` in the
    bot's own voice, as ``assistant``).
    """
    system, examples = bot.system_prompt, []
    if persona is not None:
        system = "\n\n".join(m["content"] for m in persona if m["role"] == "system")
        examples = [
            (PROVIDER_ROLE[m["role"]], m["content"]) for m in persona if m["role"] != "system"
        ]
    history = [
        ("assistant" if t.bot_index == bot_index else "user", t.content)
        for t in turns
        if t.content.strip()
    ]
    budget = bot.context_window - bot.max_tokens - estimate_tokens(system)
    budget -= estimate_tokens(topic) + sum(estimate_tokens(text) for _, text in examples)
    sizes = [estimate_tokens(text) for _, text in history]
    total, first = sum(sizes), 0
    while total > budget and first < len(history) - 1:
        total -= sizes[first]
        first += 1
    messages = merge_roles([*examples, ("user", topic), *history[first:]])
    if messages[-1]["role"] == "assistant":
        messages.append({"role": "user", "content": CONTINUE_PROMPT})
    return system, messages


def request_messages(system: str, messages: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    """The exact messages a provider is sent, as one list: a first ``system`` message (only
    when ``system`` is not empty), then the conversation (``Turn.request_messages``)."""
    head = [{"role": "system", "content": system}] if system else []
    return head + [{"role": m["role"], "content": m["content"]} for m in messages]


def split_request(request: Sequence[Mapping[str, str]]) -> tuple[str, list[Message]]:
    """``(system, messages)`` back from ``request_messages``: what to pass a provider to send
    the same request again."""
    system, rest = "", list(request)
    if rest and rest[0]["role"] == "system":
        system, rest = rest[0]["content"], rest[1:]
    return system, [{"role": m["role"], "content": m["content"]} for m in rest]  # type: ignore[misc]
