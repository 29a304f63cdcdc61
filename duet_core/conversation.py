"""How each bot sees the conversation (DESIGN.md, "How each bot sees the conversation")."""

from __future__ import annotations

from collections.abc import Sequence

from duet_core.catalog import estimate_tokens
from duet_core.models import BotConfig, Turn
from duet_core.providers.base import Message

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
    topic: str, turns: Sequence[Turn], bot_index: int, bot: BotConfig
) -> tuple[str, list[Message]]:
    """The system prompt and the message list that bot ``bot_index`` is sent for its next turn.

    The topic opens as ``user``; the bot's own turns are ``assistant``; its partner's and a
    person's turns are ``user``. Same-role neighbours are merged so the list alternates, starts
    and ends with ``user``. When the history outgrows the bot's context window, the oldest turns
    go first; the topic and the system prompt stay.
    """
    history = [
        ("assistant" if t.bot_index == bot_index else "user", t.content)
        for t in turns
        if t.content.strip()
    ]
    budget = bot.context_window - bot.max_tokens - estimate_tokens(bot.system_prompt)
    budget -= estimate_tokens(topic)
    sizes = [estimate_tokens(text) for _, text in history]
    total, first = sum(sizes), 0
    while total > budget and first < len(history) - 1:
        total -= sizes[first]
        first += 1
    messages = merge_roles([("user", topic), *history[first:]])
    if messages[-1]["role"] == "assistant":
        messages.append({"role": "user", "content": CONTINUE_PROMPT})
    return bot.system_prompt, messages
