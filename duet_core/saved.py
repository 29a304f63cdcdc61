"""Loading configs that were saved earlier (database rows, transcript files).

A saved run must always load, even when today's validation would refuse it: a model may have
stopped taking temperature since, or a limit may have changed. So a config is validated first
and, when that fails, rebuilt from its known fields without validation.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from duet_core.models import BotConfig, PromptRef, RunConfig


def bot_config_from_saved(data: BotConfig | dict[str, Any] | None) -> BotConfig | None:
    if data is None or isinstance(data, BotConfig):
        return data
    try:
        return BotConfig.model_validate(data)
    except ValidationError:
        known = {k: v for k, v in data.items() if k in BotConfig.model_fields}
        return BotConfig.model_construct(**known)


def prompt_ref_from_saved(data: PromptRef | dict[str, Any] | None) -> PromptRef | None:
    """A turn's recorded template reference (name, version, variables), as it was saved."""
    if data is None or isinstance(data, PromptRef):
        return data
    try:
        return PromptRef.model_validate(data)
    except ValidationError:
        known = {k: v for k, v in data.items() if k in PromptRef.model_fields}
        return PromptRef.model_construct(**known)


def run_config_from_saved(data: RunConfig | dict[str, Any]) -> RunConfig:
    if isinstance(data, RunConfig):
        return data
    try:
        return RunConfig.model_validate(data)
    except ValidationError:
        known = {k: v for k, v in data.items() if k in RunConfig.model_fields}
        known["bots"] = [bot_config_from_saved(b) for b in known.get("bots") or []]
        return RunConfig.model_construct(**known)
