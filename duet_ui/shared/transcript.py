"""The static view of finished turns, shared by the conversation and history pages.

``turn_caption`` and ``change_notes`` are pure (no Streamlit calls) and unit-tested;
``render_turn`` / ``render_turns`` draw.

Untrusted text (model output, thinking, what people type) has one renderer, ``to_html``:
markdown made into HTML here on the server by markdown-it, with raw HTML escaped, images as
plain links and keys redacted (``shown``), so drawing it never makes the browser fetch a URL
or run a script. The page draws it with ``render_markdown`` and the live feed
(``duet_ui.conversation.feed``) sends the same HTML while a turn is written, so a turn looks the
same streaming and finished. Provider errors, short and in an alert box, go through
``render_error`` (Streamlit's markdown of ``shown(text)``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import streamlit as st
from markdown_it import MarkdownIt
from streamlit.material_icon_names import ALL_MATERIAL_ICONS

from duet_core import vocabulary
from duet_core.models import BotConfig, RunConfig, Turn
from duet_core.redact import redact
from duet_core.safe_markdown import safe_markdown

# Material icons, never emoji: an emoji draws as an empty box where no emoji font is installed
PERSON_AVATAR = ":material/person:"
BOT_AVATAR = ":material/smart_toy:"
CHANGE_ICON = ":material/settings:"


FIELD_LABELS = {
    "top_p": "top_p",
    "max_tokens": "max tokens",
    "thinking_budget": "thinking budget",
    "system_prompt": "system prompt",
    "base_url": "base URL",
    "context_tokens": "context tokens",
}
LONG_FIELDS = ("system_prompt", "persona")  # shown as "changed", not old → new
QUIET_FIELDS = ("avatar",)  # cosmetic: no note
VALUE_WIDTH = 40

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$])")


def shown(text: str | None) -> str:
    """Model output, thinking, an error or a person's text, ready for ``st.markdown``: API
    keys redacted and images turned into plain links, so drawing it fetches nothing."""
    return safe_markdown(redact(text or ""))


# Untrusted text: no raw HTML (escaped), no images (a remote fetch: ``shown`` makes them links
# first), and links checked by markdown-it (no javascript:, vbscript:, file: or data: URLs).
_MARKDOWN = (
    MarkdownIt("commonmark", {"html": False, "linkify": False})
    .enable(["table", "strikethrough"])
    .disable("image")
)
TEXT_CLASS = "duet-text"  # the element that holds a turn's HTML, styled by TEXT_STYLE

# Turn text looks as Streamlit draws markdown in a chat message.
TEXT_STYLE = """
.duet-text { overflow-wrap: anywhere; }
.duet-text p, .duet-text ul, .duet-text ol, .duet-text pre,
.duet-text table, .duet-text blockquote { margin: 0 0 1rem; }
.duet-text > :last-child { margin-bottom: 0; }
.duet-text h1, .duet-text h2, .duet-text h3 { margin: 0.5rem 0 0.75rem; }
.duet-text code { font-size: 0.875em; padding: 0.1em 0.25em; border-radius: 0.25rem;
  background: var(--st-secondary-background-color, rgba(0, 0, 0, 0.05)); }
.duet-text pre { padding: 0.75rem; overflow-x: auto; border-radius: 0.5rem;
  background: var(--st-secondary-background-color, rgba(0, 0, 0, 0.05)); }
.duet-text pre code { padding: 0; background: none; }
.duet-text blockquote { padding-left: 1rem; border-left: 3px solid rgba(0, 0, 0, 0.2); }
.duet-text table { border-collapse: collapse; }
.duet-text th, .duet-text td { padding: 0.25rem 0.5rem; border: 1px solid rgba(0, 0, 0, 0.1); }
"""


def to_html(text: str | None, cursor: str = "") -> str:
    """Untrusted text as safe HTML (``cursor`` appended while it is being written): the one
    renderer of model output, thinking and people's text, for the page and the live feed."""
    return _MARKDOWN.render(shown(text) + cursor)


def render_markdown(text: str | None, target: Any = None, cursor: str = "") -> None:
    """Draw untrusted text (into ``target``, e.g. an ``st.empty()``, or here) as ``to_html``
    makes it. Every drawing of model output, thinking or user text goes through this."""
    (target or st).html(f'<div class="{TEXT_CLASS}">{to_html(text, cursor)}</div>')


def text_style() -> None:
    """The style of drawn turn text, for this page run (takes no room on the page)."""
    st.html(f"<style>{TEXT_STYLE}</style>")


def render_error(text: str | None, target: Any = None, **kwargs: Any) -> None:
    """``st.error`` for a message that may quote a provider or a model (see ``shown``)."""
    (target or st).error(shown(text), **kwargs)


def escape_markdown(text: str) -> str:
    """``text`` shown literally inside Streamlit markdown (names, model ids)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def bot_colour(bot_index: int | None) -> str:
    """The markdown colour of a bot's name (``:blue[...]``); gray for a person."""
    return vocabulary.bot_colour(bot_index).name


def avatar_icon(avatar: str | None) -> str:
    """A bot's avatar as a Material icon: its own when it names one (``science``), else the
    robot. An emoji (older runs) or any other string (st.chat_message would load it as an
    image path or URL) gives the robot."""
    name = (avatar or "").strip()
    return f":material/{name}:" if name in ALL_MATERIAL_ICONS else BOT_AVATAR


def avatar_for(turn: Turn, run_config: RunConfig | None = None) -> str:
    """A turn's avatar: its bot's icon (``avatar_icon``), a person icon for a person."""
    if turn.by_person:
        return PERSON_AVATAR
    config = _config_of(turn, run_config)
    return avatar_icon(config.avatar if config is not None else None)


def _config_of(turn: Turn, run_config: RunConfig | None) -> BotConfig | None:
    if turn.config is not None:
        return turn.config
    if run_config is not None and turn.bot_index is not None:
        bots = run_config.bots
        if 0 <= turn.bot_index < len(bots):
            return bots[turn.bot_index]
    return None


# --- pure text -----------------------------------------------------------------------------


def _number(value: float) -> str:
    return f"{value:g}"


def format_cost(cost: float | None) -> str:
    if cost is None:
        return "cost unknown"
    if cost == 0:
        return "$0"
    if cost < 0.01:
        return f"${cost:.4f}"
    return f"${cost:,.2f}"


def format_duration_ms(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def turn_caption(turn: Turn, run_config: RunConfig | None = None) -> str:
    """One line under a turn: model · temperature (or effort) · tokens · TTFT · latency ·
    cost · finish reason (when not a normal stop). Empty for a person's plain message."""
    if turn.by_person:
        return ""
    parts: list[str] = []
    config = _config_of(turn, run_config)
    if config is not None:
        parts.append(config.model)
        if config.temperature is not None:
            parts.append(f"temperature {_number(config.temperature)}")
        elif config.effort is not None:
            parts.append(f"effort {config.effort}")
    if turn.prompt is not None:  # the saved template behind the persona
        parts.append(f"template {turn.prompt.label}")
    if turn.input_tokens is not None or turn.output_tokens is not None:
        tin = "?" if turn.input_tokens is None else f"{turn.input_tokens:,}"
        tout = "?" if turn.output_tokens is None else f"{turn.output_tokens:,}"
        parts.append(f"tokens {tin} in / {tout} out")
    if turn.ttft_ms is not None:
        parts.append(f"TTFT {turn.ttft_ms:.0f} ms")
    if turn.latency_ms is not None:
        parts.append(f"latency {format_duration_ms(turn.latency_ms)}")
    parts.append(format_cost(turn.cost_usd))
    label = vocabulary.finish_label(turn.finish_reason)
    if label:  # the words without the core's symbol (a box where no symbol font is)
        parts.append(re.sub(r"^\W+", "", label))
    return " · ".join(parts)


def _value(value: Any) -> str:
    if value is None:
        return "default"
    if isinstance(value, dict) and "name" in value:  # a template: "debater v2"
        return f"{value['name']} v{value.get('version') or 'latest'}"
    if isinstance(value, float):
        return _number(value)
    text = str(value)
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 1] + "…"


def _change_line(name: str, field: str, old: Any, new: Any, turn_number: int) -> str:
    label = FIELD_LABELS.get(field, field)
    if field in LONG_FIELDS:
        return f"{name}: {label} changed from turn {turn_number}"
    return f"{name}: {label} {_value(old)} → {_value(new)} from turn {turn_number}"


def change_notes(turns: Sequence[Turn]) -> dict[int, list[str]]:
    """For each turn (by ``turn.index``) whose bot's settings differ from that bot's
    previous turn: lines like ``"Bob: temperature 0.7 → 1.3 from turn 5"`` (1-based)."""
    notes: dict[int, list[str]] = {}
    last: dict[int, BotConfig] = {}
    for turn in turns:
        if turn.bot_index is None or turn.config is None:
            continue
        before = last.get(turn.bot_index)
        last[turn.bot_index] = turn.config
        if before is None:
            continue
        changes = [c for c in turn.config.changes_from(before) if c[0] not in QUIET_FIELDS]
        if changes:
            notes[turn.index] = [
                _change_line(turn.bot_name, f, old, new, turn.index + 1) for f, old, new in changes
            ]
    return notes


# --- drawing -------------------------------------------------------------------------------


def render_turn_body(turn: Turn) -> None:
    """A finished turn's thinking (folded) and reply, inside its chat message."""
    if turn.thinking.strip():
        with st.expander("Thinking", expanded=False):
            render_markdown(turn.thinking)
    if turn.content.strip():
        render_markdown(turn.content)
    else:
        st.caption("(no reply)")


def render_turn(turn: Turn, run_config: RunConfig | None = None) -> None:
    """One finished turn as a chat message: coloured name, content, thinking, caption."""
    colour = bot_colour(turn.bot_index)
    label = turn.bot_name or ("Person" if turn.by_person else "Bot")
    with st.chat_message(label, avatar=avatar_for(turn, run_config)):
        st.markdown(f"**:{colour}[{escape_markdown(label)}]**")
        render_turn_body(turn)
        caption = turn_caption(turn, run_config)
        if caption:
            st.caption(escape_markdown(caption))


def render_change_notes(lines: Sequence[str]) -> None:
    for line in lines:
        st.caption(f"{CHANGE_ICON} {escape_markdown(line)}")


def render_turns(turns: Sequence[Turn], run_config: RunConfig | None = None) -> None:
    """Every turn in order; a settings note right before a turn whose bot's settings changed."""
    notes = change_notes(turns)
    for turn in turns:
        if turn.index in notes:
            render_change_notes(notes[turn.index])
        render_turn(turn, run_config)
