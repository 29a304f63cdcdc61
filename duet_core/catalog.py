"""What each provider and model accepts, which models are known, and what they cost.

Known model ids come from the SDKs' own ``Literal`` types; any other id is accepted too.
"""

from __future__ import annotations

import functools
import json
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ProviderName = Literal["demo", "openai", "anthropic", "openai_compatible"]
PROVIDERS: tuple[str, ...] = typing.get_args(ProviderName)
PROVIDER_LABELS = {
    "demo": "Offline demo",
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "openai_compatible": "OpenAI-compatible (Ollama, vLLM, LM Studio)",
}

Effort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]
OPENAI_EFFORTS: tuple[str, ...] = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
ANTHROPIC_EFFORTS: tuple[str, ...] = ("low", "medium", "high", "xhigh", "max")

DEMO_MODELS = ("duet-demo",)
DEFAULT_MODELS = {
    "demo": "duet-demo",
    "openai": "gpt-4.1-mini",
    "anthropic": "claude-sonnet-5-5",
    "openai_compatible": "llama3.2",
}


def _literal_strings(tp: object) -> list[str]:
    out: list[str] = []
    for arg in typing.get_args(tp):
        if isinstance(arg, str):
            out.append(arg)
        else:
            out.extend(_literal_strings(arg))
    return out


@functools.cache
def known_models(provider: str) -> tuple[str, ...]:
    """Model ids the installed SDK knows for ``provider`` (empty for self-hosted servers)."""
    if provider == "openai":
        from openai.types import ChatModel

        return tuple(dict.fromkeys(_literal_strings(ChatModel)))
    if provider == "anthropic":
        from anthropic.types import ModelParam

        return tuple(dict.fromkeys(_literal_strings(ModelParam)))
    if provider == "demo":
        return DEMO_MODELS
    return ()


def is_openai_reasoning_model(model: str) -> bool:
    """o-series and gpt-5+ reasoning models take ``reasoning_effort``, not temperature."""
    m = model.lower()
    if m.startswith(("o1", "o3", "o4", "codex-mini")):
        return True
    if m.startswith(("gpt-5", "gpt-6", "gpt-7")):
        return "chat" not in m
    return False


@dataclass(frozen=True)
class Knobs:
    """Which sampling settings a provider/model pair accepts, and why not where it does not."""

    temperature: bool
    top_p: bool
    effort: tuple[str, ...]  # allowed effort values; empty when effort is not taken
    thinking: bool
    reason: str = ""  # why temperature/top_p are not offered

    @property
    def sampling(self) -> bool:
        return self.temperature


def knobs(provider: str, model: str) -> Knobs:
    if provider == "anthropic":
        return Knobs(
            temperature=False,
            top_p=False,
            effort=ANTHROPIC_EFFORTS,
            thinking=True,
            reason="Anthropic's current API does not accept temperature or top_p; use effort.",
        )
    if provider == "openai" and is_openai_reasoning_model(model):
        return Knobs(
            temperature=False,
            top_p=False,
            effort=OPENAI_EFFORTS,
            thinking=False,
            reason=f"{model} is a reasoning model: it takes reasoning effort, not temperature.",
        )
    if provider == "openai":
        return Knobs(temperature=True, top_p=True, effort=(), thinking=False)
    if provider == "openai_compatible":
        return Knobs(temperature=True, top_p=True, effort=(), thinking=False)
    return Knobs(temperature=True, top_p=False, effort=(), thinking=False)  # demo


# --- context windows (tokens); used to trim the oldest turns ---------------------------------


def context_window(provider: str, model: str) -> int:
    m = model.lower()
    if provider == "demo":
        return 32_000
    if provider == "anthropic":
        return 200_000
    if provider == "openai":
        if m.startswith(("gpt-4.1", "gpt-5", "gpt-6")):
            return 400_000
        if m.startswith(("gpt-3.5",)):
            return 16_000
        if m in ("gpt-4", "gpt-4-0314", "gpt-4-0613"):
            return 8_000
        return 128_000
    return 8_000  # self-hosted servers often run with small windows


def estimate_tokens(text: str) -> int:
    """A cheap, provider-neutral estimate: about four characters a token."""
    return len(text) // 4 + 1


# --- prices (USD per million tokens: input, output) -----------------------------------------
# Public list prices of common models; extend or override with DUET_PRICES_FILE (JSON object
# {"model-id": [input_per_million, output_per_million]}). Unknown models cost ``None``.
PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
    "gpt-5.1": (1.25, 10.00),
    "o3": (2.00, 8.00),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
    "o1": (15.00, 60.00),
    "gpt-3.5-turbo": (0.50, 1.50),
    "claude-opus-4-5": (5.00, 25.00),
    "claude-sonnet-4-5": (3.00, 15.00),
    "claude-haiku-4-5": (1.00, 5.00),
    "claude-opus-5-5": (5.00, 25.00),
    "claude-sonnet-5-5": (3.00, 15.00),
    "claude-haiku-5-5": (1.00, 5.00),
    "duet-demo": (0.0, 0.0),
}


def load_prices(path: str | Path | None) -> dict[str, tuple[float, float]]:
    """The built-in table, overlaid with a user's JSON price file when one is given."""
    table = dict(PRICES)
    if path:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        table.update({str(k): (float(v[0]), float(v[1])) for k, v in data.items()})
    return table


def _price_for(model: str, table: dict[str, tuple[float, float]]) -> tuple[float, float] | None:
    if model in table:
        return table[model]
    # dated snapshots ("gpt-4o-2024-08-06", "claude-haiku-4-5-20251001") share the base price
    best = max((k for k in table if model.startswith(k + "-")), key=len, default=None)
    return table[best] if best else None


def cost_usd(
    model: str,
    input_tokens: int | None,
    output_tokens: int | None,
    table: dict[str, tuple[float, float]] | None = None,
) -> float | None:
    price = _price_for(model, PRICES if table is None else table)
    if price is None or input_tokens is None or output_tokens is None:
        return None
    return round((input_tokens * price[0] + output_tokens * price[1]) / 1_000_000, 8)
