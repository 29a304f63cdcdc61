"""What each provider and model accepts, which models are known, and what they cost.

- Providers: one ``ProviderSpec`` each (label, key variable, request format, default model).
- Models: one table of ``ModelProfile`` by id pattern (``PROFILES``, first match wins): which
  sampling knobs a model takes, its effort levels, whether it thinks, its context window. The
  UI's knobs, BotConfig's validation, history trimming and the providers all read it.
- Known model ids come from the SDKs' own ``Literal`` types; any other id is accepted too and
  gets its provider's fallback profile.
- Prices come from ``genai-prices`` (the pydantic team's maintained price data, pinned in
  requirements.txt); DUET_PRICES_FILE overrides or extends it; an unknown model costs ``None``.

Why not depend on pydantic-ai's profiles: they hold the facts we want (the OpenAI rows below
follow ``pydantic_ai/profiles/openai.py``'s ``_REASONING_SUPPORT_BY_PREFIX`` and the Anthropic
rows its ``anthropic_model_profile``), but ``pydantic-ai-slim`` is a 12 MB agent framework
(about 200,000 lines, plus opentelemetry-api, griffe and pydantic-graph), its profiles describe
its own request options rather than Duet's knobs (a chat model's effort values, a thinking
budget), and they do not know every id the pinned SDKs list (``gpt-6*``). So this is a small
table of our own, tested against every id in the SDKs' model types; re-check it against
pydantic-ai's files when the SDKs are upgraded.
"""

from __future__ import annotations

import functools
import json
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

ProviderName = Literal["demo", "local", "openai", "anthropic", "openai_compatible"]
PROVIDERS: tuple[str, ...] = typing.get_args(ProviderName)
Effort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]


@dataclass(frozen=True)
class ProviderSpec:
    """One provider: how it is labelled, which key it needs, which request format it speaks."""

    name: str
    label: str
    default_model: str
    request_format: Literal["demo", "local", "openai", "anthropic"]
    key_env: str | None = None  # the variable holding its key; None: no key
    key_required: bool = False  # refuse to run without a key
    own_base_url: bool = False  # the bot's base_url says where the server is


PROVIDER_SPECS: dict[str, ProviderSpec] = {
    s.name: s
    for s in (
        ProviderSpec("demo", "Offline demo", "duet-demo", "demo"),
        ProviderSpec("local", "Local model (llama.cpp)", "SmolLM2-135M-Instruct", "local"),
        ProviderSpec("openai", "OpenAI", "gpt-4.1-mini", "openai", "OPENAI_API_KEY", True),
        ProviderSpec(
            "anthropic", "Anthropic", "claude-sonnet-5-5", "anthropic", "ANTHROPIC_API_KEY", True
        ),
        ProviderSpec(
            "openai_compatible",
            "OpenAI-compatible (Ollama, vLLM, LM Studio)",
            "llama3.2",
            "openai",
            "DUET_COMPATIBLE_API_KEY",
            own_base_url=True,
        ),
    )
}
PROVIDER_LABELS = {name: spec.label for name, spec in PROVIDER_SPECS.items()}
DEFAULT_MODELS = {name: spec.default_model for name, spec in PROVIDER_SPECS.items()}
KEY_ENV = {n: s.key_env for n, s in PROVIDER_SPECS.items() if s.key_required and s.key_env}
DEMO_MODELS = ("duet-demo",)
LOCAL_MODELS = ("SmolLM2-135M-Instruct",)


# --- model profiles --------------------------------------------------------------------------

OPENAI_EFFORTS: tuple[str, ...] = ("none", "minimal", "low", "medium", "high", "xhigh")
ANTHROPIC_EFFORTS: tuple[str, ...] = ("low", "medium", "high", "xhigh", "max")


@dataclass(frozen=True)
class ModelProfile:
    """What a model takes. ``reason`` says why temperature/top_p are not offered."""

    temperature: bool
    top_p: bool
    effort: tuple[str, ...] = ()  # allowed effort values; empty when effort is not taken
    thinking: bool = False  # takes Duet's thinking knob (a budget, or on/off when adaptive)
    adaptive_thinking: bool = False  # thinking is sent as {"type": "adaptive"}, not a budget
    context_window: int = 128_000
    reason: str = ""
    pattern: str = field(default="", compare=False)  # the table row that matched

    @property
    def sampling(self) -> bool:
        return self.temperature


Knobs = ModelProfile  # the name the UI and BotConfig use

_REASONING = "{model} is a reasoning model: it takes reasoning effort, not temperature."
_NO_SAMPLING_ANTHROPIC = "Anthropic's current API does not accept temperature or top_p; use effort."


def _openai_sampling(context: int) -> ModelProfile:
    return ModelProfile(temperature=True, top_p=True, context_window=context)


def _openai_reasoning(efforts: tuple[str, ...], context: int) -> ModelProfile:
    return ModelProfile(
        temperature=False, top_p=False, effort=efforts, context_window=context, reason=_REASONING
    )


def _claude(efforts: tuple[str, ...], adaptive: bool, context: int = 200_000) -> ModelProfile:
    return ModelProfile(
        temperature=False,
        top_p=False,
        effort=efforts,
        thinking=True,
        adaptive_thinking=adaptive,
        context_window=context,
        reason=_NO_SAMPLING_ANTHROPIC,
    )


_LOW_HIGH = ("low", "medium", "high")
_GPT5_ORIGINAL = ("minimal", "low", "medium", "high")  # always reasons; no "none"
_OPT_IN = ("none", "minimal", "low", "medium", "high", "xhigh")  # reasoning can be turned off
_GPT56 = ("none", "low", "medium", "high", "xhigh")  # no "minimal" from gpt-5.6 on
_CLAUDE_EFFORT = ("low", "medium", "high", "max")
_CLAUDE_XHIGH = ("low", "medium", "high", "xhigh", "max")
_GPT4_128K = r"(gpt-4o|chatgpt-4o|gpt-4-turbo|gpt-4-\d{4}-preview|gpt-4-vision|gpt-audio)"

# (provider, id regex, profile): the first row whose regex matches the start of the id wins, so
# a specific family comes before the broader one it would otherwise fall into.
PROFILES: tuple[tuple[str, str, ModelProfile], ...] = (
    ("demo", r"", ModelProfile(temperature=True, top_p=False, context_window=32_000)),
    ("local", r"", ModelProfile(temperature=True, top_p=True, context_window=2_048)),
    # OpenAI. Chat variants of gpt-5.1+ always reason at a fixed effort and reject sampling.
    ("openai", r"gpt-5\.[1-9]\d*-chat", _openai_reasoning(("medium",), 128_000)),
    ("openai", r"gpt-5-chat", _openai_sampling(128_000)),  # gpt-5-chat-latest does not reason
    ("openai", r"gpt-6", _openai_reasoning(_GPT56, 400_000)),  # named like gpt-5.6 (sol/terra/luna)
    ("openai", r"gpt-5\.6", _openai_reasoning(_GPT56, 400_000)),
    ("openai", r"gpt-5\.[245]-pro", _openai_reasoning(("medium", "high", "xhigh"), 400_000)),
    ("openai", r"gpt-5\.1-codex", _openai_reasoning(_LOW_HIGH, 400_000)),
    ("openai", r"gpt-5\.1(?!\d)", _openai_reasoning(("none", "low", "medium", "high"), 400_000)),
    ("openai", r"gpt-5\.[2-5]", _openai_reasoning(_OPT_IN, 400_000)),
    ("openai", r"gpt-5", _openai_reasoning(_GPT5_ORIGINAL, 400_000)),
    ("openai", r"o1-(mini|preview)", _openai_reasoning((), 128_000)),  # no reasoning_effort
    ("openai", r"(o\d|codex-mini)", _openai_reasoning(_LOW_HIGH, 200_000)),
    # search-preview models take no sampling settings
    (
        "openai",
        r"gpt-4o(-mini)?-search",
        ModelProfile(
            temperature=False,
            top_p=False,
            context_window=128_000,
            reason="{model} searches the web: it takes no temperature or top_p.",
        ),
    ),
    ("openai", r"gpt-4\.1", _openai_sampling(1_047_576)),
    ("openai", _GPT4_128K, _openai_sampling(128_000)),
    ("openai", r"gpt-4-32k", _openai_sampling(32_768)),
    ("openai", r"gpt-4(?!\.)", _openai_sampling(8_192)),
    ("openai", r"gpt-3\.5-turbo-(0301|0613)$", _openai_sampling(4_096)),
    ("openai", r"gpt-3\.5", _openai_sampling(16_385)),
    # Anthropic (no sampling on the current API). Effort from Opus 4.5 / Sonnet 4.6 on, xhigh
    # and adaptive-only thinking on the newest families.
    ("anthropic", r"claude-(fable|mythos)-5", _claude(_CLAUDE_XHIGH, adaptive=True)),
    ("anthropic", r"claude-(opus-5|sonnet-5|opus-4-[78])", _claude(_CLAUDE_XHIGH, adaptive=True)),
    ("anthropic", r"claude-(opus-4-6|sonnet-4-6)", _claude(_CLAUDE_EFFORT, adaptive=True)),
    ("anthropic", r"claude-opus-4-5", _claude(_CLAUDE_EFFORT, adaptive=False)),
    # Haiku and the older Sonnet take neither effort nor adaptive thinking (pydantic-ai lists no
    # Haiku among the effort models).
    ("anthropic", r"claude-haiku|claude-sonnet-4-5|claude-mythos-preview", _claude((), False)),
    ("openai_compatible", r"", ModelProfile(temperature=True, top_p=True, context_window=8_000)),
)

# Any id the user types that no row knows: what its provider most likely takes.
FALLBACK: dict[str, ModelProfile] = {
    "openai": _openai_sampling(128_000),
    "anthropic": _claude(_CLAUDE_EFFORT, adaptive=False),
}
_COMPILED = tuple((p, re.compile(rx, re.IGNORECASE), prof) for p, rx, prof in PROFILES)


@functools.lru_cache(maxsize=512)
def profile(provider: str, model: str) -> ModelProfile:
    """The profile of ``model`` at ``provider`` (its provider's fallback for unknown ids)."""
    for p, rx, prof in _COMPILED:
        if p == provider and rx.match(model):
            return _named(prof, rx.pattern, model)
    fallback = FALLBACK.get(provider, ModelProfile(temperature=True, top_p=False))
    return _named(fallback, "", model)


def _named(prof: ModelProfile, pattern: str, model: str) -> ModelProfile:
    return ModelProfile(
        temperature=prof.temperature,
        top_p=prof.top_p,
        effort=prof.effort,
        thinking=prof.thinking,
        adaptive_thinking=prof.adaptive_thinking,
        context_window=prof.context_window,
        reason=prof.reason.format(model=_family(model)),
        pattern=pattern,
    )


def _family(model: str) -> str:
    """The id without a dated snapshot suffix ("o3-2025-04-16" -> "o3")."""
    return re.sub(r"-(\d{4}-\d{2}-\d{2}|\d{8})$", "", model)


def knobs(provider: str, model: str) -> ModelProfile:
    """Which sampling settings ``model`` at ``provider`` accepts (see ``profile``)."""
    return profile(provider, model)


def context_window(provider: str, model: str) -> int:
    """Tokens the model can read; used to trim the oldest turns."""
    return profile(provider, model).context_window


# --- known models ----------------------------------------------------------------------------


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
    if provider == "local":
        return LOCAL_MODELS
    return ()


def estimate_tokens(text: str) -> int:
    """A cheap, provider-neutral estimate: about four characters a token."""
    return len(text) // 4 + 1


# --- prices ----------------------------------------------------------------------------------
# USD per million tokens (input, output). genai-prices knows the providers' public prices; a
# price file (DUET_PRICES_FILE, JSON {"model-id": [input_per_million, output_per_million]})
# overrides it or adds models. Models that run on this machine cost nothing.
PriceTable = dict[str, tuple[float, float]]
FREE: PriceTable = {m: (0.0, 0.0) for m in (*DEMO_MODELS, *LOCAL_MODELS)}


def load_prices(path: str | Path | None) -> PriceTable:
    """The prices that override genai-prices: the free local models, and a user's JSON file."""
    table = dict(FREE)
    if path:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        table.update({str(k): (float(v[0]), float(v[1])) for k, v in data.items()})
    return table


def _override_for(model: str, table: PriceTable) -> tuple[float, float] | None:
    if model in table:
        return table[model]
    # dated snapshots ("gpt-4o-2024-08-06") share the base model's price
    best = max((k for k in table if model.startswith(k + "-")), key=len, default=None)
    return table[best] if best else None


def _genai_cost(model: str, provider: str | None, input_tokens: int, output_tokens: int):
    """USD from genai-prices' bundled data (prices may be tiered by prompt size), or None."""
    from genai_prices import Usage, calc_price

    provider_id = provider if provider in ("openai", "anthropic") else None
    usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens)
    try:
        return calc_price(usage, model, provider_id=provider_id).total_price
    except LookupError:
        return None


def cost_usd(
    model: str,
    input_tokens: int | None,
    output_tokens: int | None,
    table: PriceTable | None = None,
    provider: str | None = None,
) -> float | None:
    """The cost of one call in USD, or None when the model's price or the usage is unknown."""
    if input_tokens is None or output_tokens is None:
        return None
    override = _override_for(model, FREE if table is None else table)
    if override is not None:
        return round((input_tokens * override[0] + output_tokens * override[1]) / 1_000_000, 8)
    if provider in ("demo", "local", "openai_compatible"):
        return None  # a self-hosted model that shares a name with a hosted one is not billed
    cost = _genai_cost(model, provider, input_tokens, output_tokens)
    return None if cost is None else round(float(cost), 8)


def warm_up_prices() -> None:
    """Load genai-prices' data now rather than on the first finished turn."""
    _genai_cost("gpt-4o-mini", "openai", 1, 1)
