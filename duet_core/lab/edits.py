"""The settings a Prompt Lab variant changes: ``FIELD=VALUE`` pairs applied to a ``BotConfig``.

``parse_sets(["temperature=1.3", "prompt=critic@2", "var.mood=grumpy"])`` gives ``Edits``;
``Edits.apply(bot)`` gives the validated ``BotConfig`` the variant runs with. Rules a person
would expect:

- a value is parsed as the field's type (``none`` or an empty value clears an optional knob);
- giving one persona source (``system_prompt``, ``persona``, ``prompt``) replaces the bot's other
  one; giving two in the same edit is refused, naming both;
- ``prompt=NAME`` or ``prompt=NAME@VERSION`` picks a saved template (keeping the variables the
  bot had when the name is the same); ``var.NAME=VALUE`` sets one of its variables;
- when the provider or model changes, knobs the new model does not take (and were not set in
  the same edit) are dropped instead of refusing the edit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import TypeAdapter, ValidationError

from duet_core import catalog
from duet_core.errors import ConfigError
from duet_core.models import BotConfig, PromptRef, validated

PERSONA_SOURCES = ("system_prompt", "persona", "prompt")
NOT_EDITABLE = ("name", "avatar")
EDITABLE = tuple(f for f in BotConfig.model_fields if f not in NOT_EDITABLE)
OPTIONAL_KNOBS = ("temperature", "top_p", "effort")
PROMPT_VALUE = re.compile(r"^(?P<name>[^@\s]+)(?:@v?(?P<version>\d+|latest))?$")
VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CLEAR = ("", "none", "null", "default")


@dataclass(frozen=True)
class Edits:
    """Changed BotConfig fields (already typed) and template variables to set."""

    fields: Mapping[str, Any] = field(default_factory=dict)
    variables: Mapping[str, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.fields or self.variables)

    @property
    def persona_changed(self) -> bool:
        """Whether the persona (and so the messages sent) changes."""
        return bool(self.variables) or any(f in self.fields for f in PERSONA_SOURCES)

    def merged(self, other: Edits) -> Edits:
        return Edits({**self.fields, **other.fields}, {**self.variables, **other.variables})

    def apply(self, bot: BotConfig) -> BotConfig:
        """``bot`` with these edits, validated (ConfigError with a readable message)."""
        if not self:
            return bot
        data = bot.model_dump()
        given = [f for f in PERSONA_SOURCES if f in self.fields and _set(self.fields[f])]
        if len(given) > 1:
            raise ConfigError(f"Give the persona one way only, not both {' and '.join(given)}.")
        if given:  # the new source replaces the old one
            data.update(system_prompt="", persona=None, prompt=None)
        for name, value in self.fields.items():
            if name == "prompt" and isinstance(value, PromptRef):
                old = bot.prompt
                keep = old.variables if old is not None and old.name == value.name else {}
                value = value.model_copy(update={"variables": {**keep, **value.variables}})
                data[name] = value.model_dump()
            else:
                data[name] = value
        if self.variables:
            ref = data.get("prompt")
            if not ref:
                raise ConfigError(
                    "var.NAME sets a variable of a saved template: this bot has none"
                    " (set prompt=NAME@VERSION first)."
                )
            ref = dict(ref)
            ref["variables"] = {**(ref.get("variables") or {}), **self.variables}
            data["prompt"] = ref
        if "provider" in self.fields or "model" in self.fields:
            _drop_knobs_the_model_lacks(data, self.fields)
        return validated(BotConfig, data)


def _set(value: Any) -> bool:
    return value is not None and value != "" and value != []


def _drop_knobs_the_model_lacks(data: dict[str, Any], explicit: Mapping[str, Any]) -> None:
    k = catalog.knobs(data["provider"], data["model"])
    if not k.temperature and "temperature" not in explicit:
        data["temperature"] = None
    if not k.top_p and "top_p" not in explicit:
        data["top_p"] = None
    if (
        data.get("effort") is not None
        and data["effort"] not in k.effort
        and ("effort" not in explicit)
    ):
        data["effort"] = None
    if not k.thinking and "thinking_budget" not in explicit:
        data["thinking_budget"] = 0
    if data["provider"] != "openai_compatible" and "base_url" not in explicit:
        data["base_url"] = None


def parse_prompt(value: str) -> PromptRef | None:
    """``NAME``, ``NAME@3``, ``NAME@v3`` or ``NAME@latest``; empty or ``none``: no template."""
    value = value.strip()
    if value.lower() in CLEAR:
        return None
    m = PROMPT_VALUE.match(value)
    if m is None:
        raise ConfigError(
            f"prompt={value}: write prompt=NAME or prompt=NAME@VERSION (e.g. critic@2)"
        )
    version = m.group("version")
    data = {"name": m.group("name")}
    if version and version != "latest":
        data["version"] = int(version)
    return validated(PromptRef, data)


def check_editable(name: str) -> None:
    if name not in EDITABLE:
        if name in NOT_EDITABLE:
            raise ConfigError(f"{name} cannot be changed in the Lab (it names the speaker).")
        raise ConfigError(f"Unknown setting '{name}': use one of {', '.join(EDITABLE)} or var.NAME")


def parse_value(name: str, raw: str) -> Any:
    """``raw`` as the type of BotConfig field ``name``."""
    check_editable(name)
    if name == "prompt":
        return parse_prompt(raw)
    if name == "persona":
        if raw.strip().lower() in CLEAR:
            return None
        try:
            messages = json.loads(raw)
        except json.JSONDecodeError:
            raise ConfigError(
                'persona= takes a JSON list of messages, e.g. [{"role": "system", '
                '"content": "You are {{ my_name }}."}]'
            ) from None
        return messages
    if name == "system_prompt":
        return raw
    if raw.strip().lower() in CLEAR and not (name == "effort" and raw.strip() == "none"):
        if name in OPTIONAL_KNOBS or name in ("base_url", "context_tokens"):
            return None
        if name == "thinking_budget":
            return 0
        raise ConfigError(f"{name} needs a value")
    if name == "thinking_budget" and raw.strip().lower() == "off":
        return 0
    info = BotConfig.model_fields[name]
    hint = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
    adapter: TypeAdapter[Any] = TypeAdapter(hint)
    try:
        return adapter.validate_python(raw.strip())
    except ValidationError as e:
        msg = e.errors()[0]["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{name}={raw}: {msg}") from None


def parse_sets(items: Iterable[str]) -> Edits:
    """``--set FIELD=VALUE`` items (``var.NAME=VALUE`` for a template variable)."""
    fields: dict[str, Any] = {}
    variables: dict[str, Any] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ConfigError(f"--set {item}: write FIELD=VALUE, e.g. temperature=1.3")
        if name.startswith("var."):
            var = name[4:]
            if not VAR_NAME.match(var):
                raise ConfigError(f"--set {item}: a variable name is letters, digits and _")
            variables[var] = raw
        else:
            fields[name] = parse_value(name, raw)
    return Edits(fields, variables)


def edits_from_mapping(items: Mapping[str, Any]) -> Edits:
    """Edits from a JSON object (the HTTP API's ``"set"``): ``{"temperature": 1.3, "prompt":
    "critic@2", "var.mood": "grumpy"}``. A string value is read as ``--set`` reads it; any
    other value must already have the field's type (``null`` clears an optional knob)."""
    fields: dict[str, Any] = {}
    variables: dict[str, Any] = {}
    for name, value in items.items():
        name = str(name).strip()
        if name.startswith("var."):
            var = name[4:]
            if not VAR_NAME.match(var):
                raise ConfigError(f"set.{name}: a variable name is letters, digits and _")
            variables[var] = value
        elif isinstance(value, str):
            fields[name] = parse_value(name, value)
        else:
            check_editable(name)
            fields[name] = _typed(name, value)
    return Edits(fields, variables)


def _typed(name: str, value: Any) -> Any:
    if value is None:
        if name in OPTIONAL_KNOBS or name in ("base_url", "context_tokens", "persona", "prompt"):
            return None
        if name == "thinking_budget":
            return 0
        raise ConfigError(f"set.{name} needs a value")
    if name == "prompt":
        return validated(PromptRef, value)
    if name == "persona":
        return value  # checked with the whole bot by Edits.apply
    info = BotConfig.model_fields[name]
    hint = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
    try:
        return TypeAdapter(hint).validate_python(value)
    except ValidationError as e:
        msg = e.errors()[0]["msg"].removeprefix("Value error, ")
        raise ConfigError(f"set.{name}={json.dumps(value, default=str)[:80]}: {msg}") from None
