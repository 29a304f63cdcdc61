"""The settings of one bot (a card on the conversation page), and the session's own API keys.

Widget keys follow docs/design.md (``bot0_temperature`` ...). The pure helpers ``widget_values`` and
``config_from_values`` convert between a ``BotConfig`` and the widgets' values, so a page can
fill the form from a saved setup or a live run and tell a real edit from a refill.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import streamlit as st

from duet_core import catalog
from duet_core.errors import ConfigError
from duet_core.models import BotConfig, validated
from duet_core.providers import offline_provider, provider_available
from duet_core.settings import Settings
from duet_core.vocabulary import bot_colour
from duet_ui.shared import prompt_picker
from duet_ui.shared.transcript import avatar_icon, escape_markdown

FIELDS = (
    "name",
    "avatar",
    "provider",
    "model",
    "system_prompt",
    "temperature",
    "top_p",
    "effort",
    "max_tokens",
    "thinking_budget",
    "base_url",
)
DEFAULT_EFFORT = "default"  # the effort select's "send nothing" choice
KEYED_PROVIDERS = ("openai", "anthropic")
# A bot's avatar: the name of a Material icon (stored in BotConfig.avatar, drawn by
# transcript.avatar_icon); never an emoji, which draws as an empty box without an emoji font.
AVATARS = (
    "smart_toy",
    "science",
    "lightbulb",
    "psychology",
    "school",
    "gavel",
    "theater_comedy",
    "pets",
    "face",
    "sentiment_satisfied",
)

# The local model when it is installed and no key is set, else the canned demo.
OFFLINE_PROVIDER = offline_provider()
DEFAULT_BOTS = (
    BotConfig(
        name="Ada",
        avatar="science",
        provider=OFFLINE_PROVIDER,
        model=catalog.DEFAULT_MODELS[OFFLINE_PROVIDER],
        temperature=0.7,
        system_prompt="You are a careful scientist who asks for evidence. Keep replies short.",
    ),
    BotConfig(
        name="Bob",
        avatar="lightbulb",
        provider=OFFLINE_PROVIDER,
        model=catalog.DEFAULT_MODELS[OFFLINE_PROVIDER],
        temperature=1.0,
        system_prompt="You are a playful optimist who loves bold ideas. Keep replies short.",
    ),
)


def key(i: int, field: str) -> str:
    return f"bot{i}_{field}"


def widget_values(bot: BotConfig) -> dict[str, Any]:
    """What each widget shows for ``bot`` (knobs left unset show their neutral value)."""
    return {
        "name": bot.name,
        "avatar": bot.avatar if bot.avatar in AVATARS else AVATARS[0],  # an emoji: the robot
        "provider": bot.provider,
        "model": bot.model,
        "system_prompt": bot.system_prompt,
        "temperature": 1.0 if bot.temperature is None else float(bot.temperature),
        "top_p": 1.0 if bot.top_p is None else float(bot.top_p),
        "effort": bot.effort or DEFAULT_EFFORT,
        "max_tokens": int(bot.max_tokens),
        "thinking_budget": int(bot.thinking_budget),
        "base_url": bot.base_url or "",
        **prompt_picker.widget_values(bot),  # persona: text, saved template or messages
    }


def config_from_values(values: Mapping[str, Any], base: BotConfig | None = None) -> BotConfig:
    """A validated BotConfig from widget values; knobs the model does not take are left out.

    Fields the form does not show (``context_tokens``) are kept from ``base``. Raises
    ConfigError with a readable message.
    """
    provider, model = values["provider"], str(values["model"] or "").strip()
    k = catalog.knobs(provider, model)
    data = base.model_dump() if base is not None else {}
    data.update(
        name=values["name"],
        avatar=values["avatar"] or AVATARS[0],
        provider=provider,
        model=model,
        **prompt_picker.persona_fields(values),  # system_prompt, persona, prompt
        max_tokens=int(values["max_tokens"]),
        temperature=round(float(values["temperature"]), 2) if k.temperature else None,
        top_p=round(float(values["top_p"]), 2) if k.top_p and values["top_p"] < 1.0 else None,
        effort=values["effort"] if values["effort"] in k.effort else None,
        thinking_budget=int(values["thinking_budget"]) if k.thinking else 0,
        base_url=(values["base_url"] or None) if provider == "openai_compatible" else None,
    )
    return validated(BotConfig, data)


def fill(i: int, bot: BotConfig) -> None:
    """Show ``bot`` in bot ``i``'s widgets. Call before they render (or from a callback)."""
    for field, value in widget_values(bot).items():
        st.session_state[key(i, field)] = value


def show_values(i: int, values: Mapping[str, Any]) -> None:
    """Give bot ``i``'s widgets ``values`` back (as returned by ``bot_form``), writing only the
    ones that differ (a write sends the value to the browser). Call before they render."""
    for field, value in values.items():
        name = key(i, field)
        if value is not None and st.session_state.get(name) != value:
            st.session_state[name] = value


def _on_provider_change(i: int) -> None:
    provider = st.session_state[key(i, "provider")]
    # the model the browser shows until it draws the default pushed here (see _undo_echo)
    st.session_state[_echo(i)] = (provider, st.session_state.get(key(i, "model")))
    st.session_state[key(i, "model")] = catalog.DEFAULT_MODELS[provider]
    st.session_state[key(i, "effort")] = DEFAULT_EFFORT
    st.session_state[_pushed(i)] = True


def _pushed(i: int) -> str:
    return f"_bot{i}_model_pushed"


def _echo(i: int) -> str:
    return f"_bot{i}_model_echo"


def _undo_echo(i: int, provider: str) -> None:
    """A change made right after a provider change (the other bot's provider, a slider) can
    reach the server before the browser drew the default model pushed for the new provider:
    it carries the old provider's model back, and that model stayed with the new provider.
    While the browser sends that old model, and it is not one of the new provider's, the
    default is pushed again; once the browser sends anything else, it has caught up."""
    echo = st.session_state.get(_echo(i))
    if echo is None or st.session_state.get(_pushed(i)) is True:
        return  # nothing pushed, or this is the run that pushes it
    pushed_for, old_model = echo
    model = st.session_state.get(key(i, "model"))
    if (
        pushed_for == provider
        and model == old_model
        and model not in catalog.known_models(provider)
    ):
        st.session_state[key(i, "model")] = catalog.DEFAULT_MODELS[provider]
    else:
        del st.session_state[_echo(i)]


def _resync_model(i: int) -> None:
    """The run after a provider change pushed its default model: show the browser the model
    this run holds. The pushed default can reach the browser after the person has already
    picked another model (that pick started this run); the browser would then show, and
    send back at the next change, the default instead of their pick."""
    if st.session_state.pop(_pushed(i), None) == "drawn":
        st.session_state[key(i, "model")] = st.session_state[key(i, "model")]


@dataclass
class BotForm:
    """What the form holds now: a valid config, or the error that stops it being one."""

    values: dict[str, Any]
    config: BotConfig | None
    error: str | None


def bot_form(i: int, defaults: BotConfig, settings: Settings, keys: Mapping[str, str]) -> BotForm:
    """Draw bot ``i``'s settings in the current container; return the config they make.

    The fields to scan first are in view: name, provider, model, temperature, persona. The
    rest (avatar, top p, effort, max tokens, thinking budget) sit in the "More" popover
    (``bot0_more``), one Tab stop, so the two bots side by side fit one screen."""
    for field, value in widget_values(defaults).items():
        st.session_state.setdefault(key(i, field), value)
    _keep_avatar_valid(i)
    keep: dict[str, Any] = {"persist_state": "session"}
    state = st.session_state
    title = escape_markdown(str(state.get(key(i, "name")) or f"Bot {i + 1}"))
    with st.container(horizontal=True, vertical_alignment="center"):
        icon = avatar_icon(state.get(key(i, "avatar")))
        st.markdown(f"**:{bot_colour(i).name}[{icon} Bot {i + 1} · {title}]**", width="stretch")
        more = st.popover("More", icon=":material/tune:", key=key(i, "more"))

    name_col, provider_col = st.columns([1, 1.2], vertical_alignment="bottom")
    name_col.text_input("Name", key=key(i, "name"), max_chars=60, **keep)
    provider_col.selectbox(
        "Provider",
        catalog.PROVIDERS,
        key=key(i, "provider"),
        format_func=catalog.PROVIDER_LABELS.get,
        on_change=_on_provider_change,
        args=(i,),
        **keep,
    )
    provider = state[key(i, "provider")]
    ok, hint = provider_available(provider, settings, keys)
    if not ok:
        st.warning(hint, icon=":material/key:")
    _undo_echo(i, provider)
    if st.session_state.get(_pushed(i)) is True:  # this run pushes the default model
        st.session_state[_pushed(i)] = "drawn"
    else:
        _resync_model(i)
    models = list(catalog.known_models(provider))
    current = str(state.get(key(i, "model")) or catalog.DEFAULT_MODELS[provider])
    if current not in models:
        models.insert(0, current)
    model_col, temperature_col = st.columns([1.2, 1], vertical_alignment="bottom")
    model_col.selectbox(  # a known model, or any model id typed in
        "Model",
        models,
        key=key(i, "model"),
        accept_new_options=True,
        **keep,
    )
    model = str(state.get(key(i, "model")) or "")
    k = catalog.knobs(provider, model)
    temperature_col.slider(
        "Temperature",
        0.0,
        2.0,
        step=0.05,
        key=key(i, "temperature"),
        disabled=not k.temperature,
        **keep,
    )
    if not k.temperature and k.reason:  # why the slider is disabled, beside it
        st.caption(k.reason)
    if provider == "openai_compatible":
        st.text_input(
            "Server URL",
            key=key(i, "base_url"),
            placeholder="http://localhost:11434/v1",
            **keep,
        )
    persona_values = prompt_picker.persona_field(i, keep)
    with more:
        _more(i, model, k, keep)

    values = {f: state.get(key(i, f)) for f in FIELDS}
    values.update(persona_values)
    try:
        config = config_from_values(values, defaults)
    except ConfigError as e:
        st.error(e.message, icon=":material/error:")
        return BotForm(values, None, e.message)
    return BotForm(values, config, None)


def _keep_avatar_valid(i: int) -> None:
    """An avatar the icon choice lacks (an emoji from an older setup) shows as the robot."""
    if st.session_state.get(key(i, "avatar")) not in AVATARS:
        st.session_state[key(i, "avatar")] = AVATARS[0]


def _more(i: int, model: str, k: catalog.ModelProfile, keep: dict[str, Any]) -> None:
    """The settings one changes less often, in the "More" popover: avatar, top p, effort,
    max tokens, thinking budget; knobs the model does not take are disabled with the reason."""
    st.pills(
        "Avatar",
        AVATARS,
        key=key(i, "avatar"),
        format_func=lambda name: f":material/{name}:",
        required=True,
        **keep,
    )
    if k.top_p:
        st.slider("Top p", 0.05, 1.0, step=0.05, key=key(i, "top_p"), **keep)
    elif k.reason and k.temperature:  # else said under the disabled temperature
        st.caption(k.reason)
    efforts = [DEFAULT_EFFORT, *k.effort]
    if st.session_state.get(key(i, "effort")) not in efforts:
        st.session_state[key(i, "effort")] = DEFAULT_EFFORT
    st.selectbox(
        "Effort",
        efforts,
        key=key(i, "effort"),
        disabled=not k.effort,
        help="How hard the model thinks before it answers; 'default' sends nothing.",
        **keep,
    )
    if not k.effort:
        st.caption(f"{model or 'This model'} takes temperature, not effort.")
    st.number_input("Max tokens", 1, 128_000, step=64, key=key(i, "max_tokens"), **keep)
    if k.thinking:
        st.number_input(
            "Thinking budget (tokens, 0 = off)",
            0,
            128_000,
            step=1024,
            key=key(i, "thinking_budget"),
            help="At least 1024 and below max tokens; 0 turns extended thinking off.",
            **keep,
        )


def pasted_keys() -> dict[str, str]:
    """API keys pasted in this browser session (read before the forms draw)."""
    keys = {p: str(st.session_state.get(f"apikey_{p}") or "").strip() for p in KEYED_PROVIDERS}
    return {p: k for p, k in keys.items() if k}


def shown_names() -> tuple[str, str]:
    """The two bots' names as their Name fields hold them (read before the forms draw)."""
    return tuple(  # type: ignore[return-value]
        str(st.session_state.get(key(i, "name")) or bot.name or f"Bot {i + 1}")
        for i, bot in enumerate(DEFAULT_BOTS)
    )


def api_key_fields(providers: set[str], settings: Settings) -> bool:
    """Password fields for the keys the server lacks; a pasted key stays in this session.
    True when a field was drawn."""
    asked = False
    for provider in KEYED_PROVIDERS:
        if provider in providers and not provider_available(provider, settings)[0]:
            asked = True
            st.text_input(
                f"{catalog.PROVIDER_LABELS[provider]} API key",
                type="password",
                key=f"apikey_{provider}",
                help="Used only for runs you start in this browser session; never saved.",
                persist_state="session",
            )
    return asked
