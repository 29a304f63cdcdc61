"""Where a bot's persona comes from, in its form: text, a saved template, or messages.

``persona_field`` draws the choice (``bot0_persona_source``) and then the text area
(``bot0_system_prompt``), the template, version and variable pickers (``bot0_prompt_name``,
``bot0_prompt_version``, ``bot0_var_<name>``) or the messages as JSON (``bot0_persona_json``).
``widget_values`` and ``persona_fields`` are pure: a ``BotConfig`` to widget values and back,
so ``duet_ui.shared.bot_form`` can fill the form from a saved setup or a live run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import streamlit as st

from duet_core.errors import ConfigError, DuetError
from duet_core.models import BotConfig
from duet_core.templates import BUILTIN_VARIABLES, template_variables, value_text
from duet_ui.shell.services import services

SOURCES = {"text": "Text", "template": "Saved template", "inline": "Messages"}
LATEST = "latest"
VAR = "var_"


def _key(i: int, field: str) -> str:
    return f"bot{i}_{field}"


def widget_values(bot: BotConfig) -> dict[str, Any]:
    """The picker's widget values for ``bot`` (its variables as text)."""
    values: dict[str, Any] = {
        "persona_source": "template" if bot.prompt else ("inline" if bot.persona else "text"),
        "prompt_name": bot.prompt.name if bot.prompt else None,
        "prompt_version": (bot.prompt.version or LATEST) if bot.prompt else LATEST,
        "persona_json": (
            json.dumps([m.model_dump() for m in bot.persona], ensure_ascii=False, indent=1)
            if bot.persona
            else ""
        ),
    }
    if bot.prompt:
        values.update({VAR + k: value_text(v) for k, v in bot.prompt.variables.items()})
    return values


def persona_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """``system_prompt``, ``persona`` and ``prompt`` for a BotConfig, from the widget values
    (only the chosen source is set). Raises ConfigError with a readable message."""
    source = values.get("persona_source") or "text"
    if source == "template":
        name = values.get("prompt_name")
        if not name:
            raise ConfigError("Pick a saved template for the persona, or switch it to Text.")
        version = values.get("prompt_version")
        variables = {
            k.removeprefix(VAR): v
            for k, v in values.items()
            if k.startswith(VAR) and v not in ("", None)
        }
        prompt = {
            "name": name,
            "version": None if version in (None, LATEST) else int(version),
            "variables": variables,
        }
        return {"system_prompt": "", "persona": None, "prompt": prompt}
    if source == "inline":
        text = str(values.get("persona_json") or "").strip()
        try:
            messages = json.loads(text) if text else None
        except json.JSONDecodeError as e:
            raise ConfigError(
                f"Persona messages: not valid JSON ({e.msg}, line {e.lineno})."
            ) from None
        return {"system_prompt": "", "persona": messages, "prompt": None}
    return {"system_prompt": values.get("system_prompt") or "", "persona": None, "prompt": None}


def persona_field(i: int, keep: Mapping[str, Any]) -> dict[str, Any]:
    """Draw bot ``i``'s persona choice; return its widget values (for ``persona_fields``)."""
    state = st.session_state
    sources = ["text", "template"] + (["inline"] if state.get(_key(i, "persona_json")) else [])
    if state.get(_key(i, "persona_source")) not in sources:
        state[_key(i, "persona_source")] = "text"
    source = st.segmented_control(
        "Persona",
        sources,
        key=_key(i, "persona_source"),
        format_func=SOURCES.get,
        required=True,  # no help icon: one Tab stop fewer on the way to Start
        **keep,
    )
    values: dict[str, Any] = {
        "persona_source": source,
        "system_prompt": state.get(_key(i, "system_prompt")),
        "prompt_name": state.get(_key(i, "prompt_name")),
        "prompt_version": state.get(_key(i, "prompt_version")),
        "persona_json": state.get(_key(i, "persona_json")),
    }
    if source == "text":
        st.text_area(
            "Persona (system prompt)",
            key=_key(i, "system_prompt"),
            height=76,
            label_visibility="collapsed",
            **keep,
        )
        values["system_prompt"] = state.get(_key(i, "system_prompt"))
    elif source == "inline":
        st.text_area(
            "Persona messages (JSON)",
            key=_key(i, "persona_json"),
            height=140,
            help='A list of {"role": "system" | "human" | "ai", "content": "..."}.',
            **keep,
        )
        values["persona_json"] = state.get(_key(i, "persona_json"))
    else:
        values.update(_template_picker(i, keep))
    return values


def _template_picker(i: int, keep: Mapping[str, Any]) -> dict[str, Any]:
    state = st.session_state
    library = services().store.prompts
    try:
        summaries = {s.name: s for s in library.list()}
    except DuetError as e:
        st.error(e.message)
        return {}
    names = list(summaries)
    chosen = state.get(_key(i, "prompt_name"))
    if chosen and chosen not in names:
        names.insert(0, chosen)  # a setup names a template this database lacks: say so below
    if not names:
        st.info(
            "No saved templates yet: make one on the Prompts page.", icon=":material/edit_note:"
        )
        return {"prompt_name": None}
    name = st.selectbox(
        "Template",
        names,
        key=_key(i, "prompt_name"),
        index=None,
        placeholder="Pick a template",
        **keep,
    )
    if not name:
        return {"prompt_name": None}
    if name not in summaries:
        st.error(f"No saved template named '{name}' here.")
        return {"prompt_name": name, "prompt_version": state.get(_key(i, "prompt_version"))}
    latest = summaries[name].latest_version
    versions: list[Any] = [LATEST, *range(latest, 0, -1)]
    if state.get(_key(i, "prompt_version")) not in versions:
        state[_key(i, "prompt_version")] = LATEST
    version = st.selectbox(
        "Version",
        versions,
        key=_key(i, "prompt_version"),
        format_func=lambda v: f"latest (v{latest})" if v == LATEST else f"v{v}",
        help="'latest' is the newest version when the run starts (recorded on each turn).",
        **keep,
    )
    found = library.get(name, None if version == LATEST else int(version))
    wanted = [n for n in template_variables(found.messages) if n not in BUILTIN_VARIABLES]
    values: dict[str, Any] = {"prompt_name": name, "prompt_version": version}
    for var in wanted:
        st.text_input(var, key=_key(i, VAR + var), **keep)
        values[VAR + var] = state.get(_key(i, VAR + var)) or ""
    missing = [v for v in wanted if not values[VAR + v]]
    if missing:
        st.caption(f"No value for {', '.join(missing)}: rendered empty.")
    st.caption("Filled by the run: " + ", ".join(BUILTIN_VARIABLES) + ".")
    with st.expander(f"{name} v{found.version}", icon=":material/description:"):
        for m in found.messages:
            st.text(f"[{m.role}] {m.content}")
    return values
