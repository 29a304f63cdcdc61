"""One Prompt Lab variant's settings: provider, model, persona (system prompt, saved template
and its variables, or inline persona), temperature, top_p, effort, max tokens, thinking.

The form starts from the settings of the turn being replayed and returns only what the person
changed (``Edits``), so an untouched variant sends the original request byte for byte.
Widget keys: ``lab_v{N}_{field}`` (``lab_v0_temperature`` ...).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import streamlit as st

from duet_core import catalog
from duet_core.errors import ConfigError
from duet_core.lab.edits import Edits
from duet_core.models import BotConfig
from duet_core.providers import provider_available
from duet_core.settings import Settings

DEFAULT_EFFORT = "default"
MODES = {"system": "System prompt", "template": "Saved template", "inline": "Inline persona"}


def key(v: int | str, field: str) -> str:
    return f"lab_v{v}_{field}"


@dataclass(frozen=True)
class VariantForm:
    """What a variant's form holds: the edits and the bot they make, or the problem."""

    edits: Edits
    bot: BotConfig | None
    error: str | None = None


def _mode(bot: BotConfig) -> str:
    if bot.prompt is not None:
        return "template"
    if bot.persona is not None:
        return "inline"
    return "system"


def _values(bot: BotConfig) -> dict[str, Any]:
    return {
        "provider": bot.provider,
        "model": bot.model,
        "base_url": bot.base_url or "",
        "mode": _mode(bot),
        "system_prompt": bot.system_prompt,
        "template": bot.prompt.name if bot.prompt else "",
        "version": int(bot.prompt.version or 1) if bot.prompt else 1,
        "variables": json.dumps(bot.prompt.variables, ensure_ascii=False) if bot.prompt else "{}",
        "persona": json.dumps(
            [m.model_dump() for m in bot.persona or []], ensure_ascii=False, indent=1
        ),
        "temperature": 1.0 if bot.temperature is None else float(bot.temperature),
        "top_p": 1.0 if bot.top_p is None else float(bot.top_p),
        "effort": bot.effort or DEFAULT_EFFORT,
        "max_tokens": int(bot.max_tokens),
        "thinking": bot.thinking_budget > 0,
        "thinking_budget": int(bot.thinking_budget or 1024),
    }


def reset(v: int | str, bot: BotConfig) -> None:
    """Show ``bot``'s settings in variant ``v``'s widgets (before they draw)."""
    for field, value in _values(bot).items():
        st.session_state[key(v, field)] = value


def _on_provider(v: int | str) -> None:
    provider = st.session_state[key(v, "provider")]
    st.session_state[key(v, "model")] = catalog.DEFAULT_MODELS[provider]
    st.session_state[key(v, "effort")] = DEFAULT_EFFORT


def variant_form(
    v: int | str,
    base: BotConfig,
    settings: Settings,
    keys: dict[str, str],
    templates: list[str],
) -> VariantForm:
    """Draw variant ``v``'s settings (starting from ``base``); return the edits they make."""
    state = st.session_state
    for field, value in _values(base).items():
        state.setdefault(key(v, field), value)
    st.selectbox(
        "Provider",
        catalog.PROVIDERS,
        key=key(v, "provider"),
        format_func=catalog.PROVIDER_LABELS.get,
        on_change=_on_provider,
        args=(v,),
    )
    provider = state[key(v, "provider")]
    ok, hint = provider_available(provider, settings, keys)
    if not ok:
        st.warning(hint, icon=":material/key:")
    models = list(catalog.known_models(provider))
    if state.get(key(v, "model")) not in models:
        models.insert(0, str(state.get(key(v, "model")) or catalog.DEFAULT_MODELS[provider]))
    st.selectbox("Model", models, key=key(v, "model"), accept_new_options=True)
    model = str(state.get(key(v, "model")) or "")
    if provider == "openai_compatible":
        st.text_input("Server URL", key=key(v, "base_url"), placeholder="http://localhost:11434/v1")
    _persona(v, base, templates)
    _knobs(v, provider, model)
    try:
        edits = _edits(v, base)
        return VariantForm(edits, edits.apply(base))
    except ConfigError as e:
        st.error(e.message, icon=":material/error:")
        return VariantForm(Edits(), None, e.message)


def _persona(v: int | str, base: BotConfig, templates: list[str]) -> None:
    modes = [m for m in MODES if m != "inline" or base.persona is not None]
    st.radio("Persona", modes, format_func=MODES.__getitem__, key=key(v, "mode"), horizontal=True)
    mode = st.session_state[key(v, "mode")]
    if mode == "system":
        st.text_area("System prompt", key=key(v, "system_prompt"), height=90)
    elif mode == "template":
        names = list(dict.fromkeys([*templates, *([base.prompt.name] if base.prompt else [])]))
        if not names:
            st.caption("No saved templates yet: save one on the Prompts page.")
            return
        if st.session_state.get(key(v, "template")) not in names:
            st.session_state[key(v, "template")] = names[0]
        name_col, version_col = st.columns([3, 1])
        name_col.selectbox("Template", names, key=key(v, "template"))
        version_col.number_input("Version", 1, 10_000, step=1, key=key(v, "version"))
        st.text_area(
            "Variables (JSON object)",
            key=key(v, "variables"),
            height=68,
            help='e.g. {"mood": "grumpy"}; topic, my_name, partner_name, turn and turns_left '
            "are filled in for you.",
        )
    else:
        st.text_area("Persona messages (JSON)", key=key(v, "persona"), height=120)


def _knobs(v: int | str, provider: str, model: str) -> None:
    k = catalog.knobs(provider, model)
    if k.temperature:
        st.slider("Temperature", 0.0, 2.0, step=0.05, key=key(v, "temperature"))
    elif k.reason:
        st.caption(k.reason)
    if k.top_p:
        st.slider("Top p", 0.05, 1.0, step=0.05, key=key(v, "top_p"))
    efforts = [DEFAULT_EFFORT, *k.effort]
    if k.effort:
        if st.session_state.get(key(v, "effort")) not in efforts:
            st.session_state[key(v, "effort")] = DEFAULT_EFFORT
        st.selectbox("Effort", efforts, key=key(v, "effort"))
    st.number_input("Max tokens", 1, 128_000, step=64, key=key(v, "max_tokens"))
    if k.thinking:
        on_col, budget_col = st.columns([1, 2], vertical_alignment="bottom")
        on_col.toggle("Thinking", key=key(v, "thinking"))
        budget_col.number_input(
            "Thinking budget",
            1024,
            128_000,
            step=1024,
            key=key(v, "thinking_budget"),
            disabled=not st.session_state.get(key(v, "thinking")),
        )


def _json(text: str, what: str, kind: type) -> Any:
    try:
        value = json.loads(text or ("{}" if kind is dict else "[]"))
    except json.JSONDecodeError as e:
        raise ConfigError(f"{what}: not valid JSON ({e.msg}).") from None
    if not isinstance(value, kind):
        raise ConfigError(f"{what}: write a JSON {'object' if kind is dict else 'list'}.")
    return value


def _edits(v: int | str, base: BotConfig) -> Edits:
    """The fields whose widget values differ from ``base`` (normalised as the form shows them)."""
    state = st.session_state
    now = {f: state.get(key(v, f)) for f in _values(base)}
    provider, model = now["provider"], str(now["model"] or "").strip()
    k = catalog.knobs(provider, model)
    was = _values(base)
    fields: dict[str, Any] = {}
    if provider != base.provider:
        fields["provider"] = provider
    if model != base.model:
        fields["model"] = model
    base_url = (now["base_url"] or "").strip() or None
    if provider == "openai_compatible" and base_url != base.base_url:
        fields["base_url"] = base_url
    if k.temperature and now["temperature"] != was["temperature"]:
        fields["temperature"] = round(float(now["temperature"]), 2)
    if k.top_p and now["top_p"] != was["top_p"]:
        fields["top_p"] = round(float(now["top_p"]), 2) if now["top_p"] < 1.0 else None
    if k.effort and now["effort"] != was["effort"]:
        fields["effort"] = None if now["effort"] == DEFAULT_EFFORT else now["effort"]
    if int(now["max_tokens"]) != base.max_tokens:
        fields["max_tokens"] = int(now["max_tokens"])
    budget = int(now["thinking_budget"]) if k.thinking and now["thinking"] else 0
    if budget != base.thinking_budget:
        fields["thinking_budget"] = budget
    fields.update(_persona_edits(now, was, base))
    return Edits(fields)


def _persona_edits(now: dict[str, Any], was: dict[str, Any], base: BotConfig) -> dict[str, Any]:
    mode = now["mode"]
    if mode == "system":
        if mode == was["mode"] and now["system_prompt"] == base.system_prompt:
            return {}
        return {"system_prompt": now["system_prompt"] or "", "persona": None, "prompt": None}
    if mode == "template":
        if not now["template"]:
            return {}
        ref = {
            "name": now["template"],
            "version": int(now["version"]),
            "variables": _json(now["variables"], "Variables", dict),
        }
        old = base.prompt.model_dump() if base.prompt else None
        if old is not None and {**old, "version": old.get("version") or 1} == ref:
            return {}
        return {"prompt": ref, "system_prompt": "", "persona": None}
    persona = _json(now["persona"], "Persona messages", list)
    if base.persona is not None and persona == [m.model_dump() for m in base.persona]:
        return {}
    return {"persona": persona, "system_prompt": "", "prompt": None}
