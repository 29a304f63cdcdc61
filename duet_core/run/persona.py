"""A bot's persona: from ``system_prompt``, inline ``persona`` messages, or a saved template.

``turn_request`` is the one place that turns a bot's settings and the run so far into what the
provider is sent for a turn: the template (when any) rendered with its variables and the
built-in ones, then ``conversation.bot_view``. The engine and the Prompt Lab both call it, and
record the result on the turn (``Turn.prompt``, ``Turn.request_messages``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from duet_core.errors import ConfigError
from duet_core.models import BotConfig, PromptMessage, PromptRef, Turn
from duet_core.providers.base import Message
from duet_core.run.bot_view import bot_view, request_messages
from duet_core.templates import render_messages

if TYPE_CHECKING:
    from duet_core.store.prompts import PromptVersion


class TemplateSource(Protocol):
    """Where saved templates come from (``Store.prompts``)."""

    def get(self, name: str, version: int | None = None) -> PromptVersion: ...


@dataclass(frozen=True, slots=True)
class TurnRequest:
    """What a bot is sent for one turn, and the template behind it."""

    system: str
    messages: list[Message]
    prompt: PromptRef | None  # name, pinned version, the bot's variables; None without one

    @property
    def request_messages(self) -> list[dict[str, str]]:
        """The exact messages sent: a first ``system`` one (when any), then the rest."""
        return request_messages(self.system, self.messages)


def builtin_variables(
    topic: str, bots: Sequence[BotConfig], bot_index: int, turn: int, max_turns: int
) -> dict[str, Any]:
    """``topic``, ``my_name``, ``partner_name``, ``turn`` (from 1) and ``turns_left`` (how many
    of ``max_turns`` are still to come after this one)."""
    return {
        "topic": topic,
        "my_name": bots[bot_index].name,
        "partner_name": bots[1 - bot_index].name,
        "turn": turn,
        "turns_left": max(max_turns - turn, 0),
    }


def pin_version(bot: BotConfig, library: TemplateSource | None) -> BotConfig:
    """``bot`` with its template's version fixed (the latest now when none was given).

    Raises ConfigError when the template or version does not exist, or there is no library.
    """
    if bot.prompt is None:
        return bot
    if library is None:
        raise ConfigError(f"{bot.name}: saved templates need a database (the prompt library).")
    found = library.get(bot.prompt.name, bot.prompt.version)
    check_examples(bot.name, found.messages, f"template {found.name} v{found.version}")
    if bot.prompt.version == found.version:
        return bot
    pinned = bot.prompt.model_copy(update={"version": found.version})
    return bot.model_copy(update={"prompt": pinned})


def check_examples(who: str, messages: Sequence[PromptMessage], what: str) -> None:
    """The examples (non-system messages) must start with ``human``: a provider's message
    list starts with ``user``."""
    examples = [m for m in messages if m.role != "system"]
    if examples and examples[0].role != "human":
        raise ConfigError(
            f"{who}: {what} starts its examples with an ai message; put a human message before it"
        )


def template_of(bot: BotConfig, library: TemplateSource | None) -> list[PromptMessage] | None:
    """The template messages of ``bot``'s persona; None when it is a plain ``system_prompt``."""
    if bot.persona is not None:
        check_examples(bot.name, bot.persona, "the persona")
        return list(bot.persona)
    if bot.prompt is not None:
        if library is None:
            raise ConfigError(f"{bot.name}: saved templates need a database (the prompt library).")
        found = library.get(bot.prompt.name, bot.prompt.version)
        check_examples(bot.name, found.messages, f"template {found.name} v{found.version}")
        return list(found.messages)
    return None


def turn_request(
    topic: str,
    turns: Sequence[Turn],
    bot_index: int,
    bots: Sequence[BotConfig],
    max_turns: int,
    library: TemplateSource | None = None,
) -> TurnRequest:
    """What bot ``bot_index`` (settings ``bots[bot_index]``) is sent for its next turn."""
    bot = bots[bot_index]
    template = template_of(bot, library)
    if template is None:
        system, messages = bot_view(topic, turns, bot_index, bot)
        return TurnRequest(system, messages, None)
    number = sum(1 for t in turns if not t.by_person) + 1
    variables = builtin_variables(topic, bots, bot_index, number, max_turns)
    prompt = None
    if bot.prompt is not None:
        variables = {**bot.prompt.variables, **variables}
        prompt = bot.prompt
        if prompt.version is None:  # not pinned by the engine: record the version used
            version = library.get(prompt.name).version if library is not None else None
            prompt = prompt.model_copy(update={"version": version})
    rendered = render_messages(template, variables)
    system, messages = bot_view(topic, turns, bot_index, bot, persona=rendered)
    return TurnRequest(system, messages, prompt)
