"""The run setup: topic, turn limit, first speaker, stop phrases; saved to and loaded from a file.

A setup file is ``RunConfig.dump_json()``: the same schema the command line reads. Loading one
fills the widgets from a callback, before they draw; a bad file leaves them as they were.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from duet_core.errors import ConfigError
from duet_core.models import MAX_RUN_SECONDS, RunConfig, validated
from duet_core.run.stop_conditions import LOOP_WINDOW
from duet_core.settings import Settings
from duet_ui.shared import bot_form

DEFAULT_TOPIC = "Should cities ban private cars from their centres?"
EXTRA_KEY = "setup_extra"  # RunConfig fields without widgets (budgets), kept from a loaded file
LOOP_KEY = "setup_loop_window"  # the loop window a loaded file asked for, used when the box is on
MESSAGE_KEY = "setup_message"
KEEP: dict[str, Any] = {"persist_state": "session"}


def default_setup(settings: Settings) -> RunConfig:
    return RunConfig(
        topic=DEFAULT_TOPIC, max_turns=min(6, settings.max_turns), bots=list(bot_form.DEFAULT_BOTS)
    )


def fill(config: RunConfig, settings: Settings, bots: bool = True) -> None:
    """Show ``config`` in the widgets (call before they draw, or from a callback)."""
    state = st.session_state
    state["topic"] = config.topic
    state["max_turns"] = min(config.max_turns, settings.max_turns)
    state["first_speaker"] = config.first_speaker
    state["stop_phrases"] = "\n".join(config.stop_phrases)
    state["max_seconds"] = float(config.max_seconds or 0.0)
    state["loop_detection"] = config.loop_window > 0
    state[LOOP_KEY] = config.loop_window or LOOP_WINDOW
    state[EXTRA_KEY] = {
        "max_total_tokens": config.max_total_tokens,
        "max_cost_usd": config.max_cost_usd,
        "loop_similarity": config.loop_similarity,
    }
    if bots:
        for i, bot in enumerate(config.bots):
            bot_form.fill(i, bot)


def setup_fields(settings: Settings, names: tuple[str, str], disabled: bool) -> dict[str, Any]:
    """Draw the run's own settings; return their values."""
    defaults = default_setup(settings)
    state = st.session_state
    state.setdefault("topic", defaults.topic)
    state.setdefault("max_turns", defaults.max_turns)
    state.setdefault("first_speaker", 0)
    state.setdefault("stop_phrases", "")
    state.setdefault("max_seconds", 0.0)
    state.setdefault("loop_detection", False)
    topic_col, turns_col, first_col, stop_col = st.columns(
        [2.6, 1, 1.1, 1.1], vertical_alignment="bottom"
    )
    topic_col.text_area(
        "Topic",
        key="topic",
        height=68,
        disabled=disabled,
        placeholder="What should they discuss?",
        **KEEP,
    )
    turns_col.number_input(  # no help icon: one Tab stop fewer; the field stops at the limit
        f"Max turns (≤ {settings.max_turns})",
        1,
        settings.max_turns,
        key="max_turns",
        disabled=disabled,
        **KEEP,
    )
    first_col.selectbox(
        "Who speaks first",
        (0, 1),
        key="first_speaker",
        format_func=lambda i: names[i],
        disabled=disabled,
        **KEEP,
    )
    phrases = [p for p in str(state["stop_phrases"]).splitlines() if p.strip()]
    conditions = len(phrases) + bool(state["max_seconds"]) + bool(state["loop_detection"])
    with stop_col.popover(
        f"Stop conditions · {conditions}" if conditions else "Stop conditions",
        icon=":material/front_hand:",
        key="stop_phrases_popover",
        width="stretch",
    ):
        st.text_area(
            "Stop phrases (one per line)",
            key="stop_phrases",
            height=100,
            disabled=disabled,
            help="The run ends when a reply contains one of these.",
            **KEEP,
        )
        st.number_input(
            "Time limit (s)",
            0.0,
            float(MAX_RUN_SECONDS),
            step=30.0,
            format="%.0f",
            key="max_seconds",
            disabled=disabled,
            help="The run ends after this many seconds of running (pauses not counted); 0: none.",
            **KEEP,
        )
        st.checkbox(
            "End when the bots repeat themselves",
            key="loop_detection",
            disabled=disabled,
            help="Ends the run (reason: loop) when a reply is the same as, or nearly the same "
            f"as, one of the last {state.get(LOOP_KEY, LOOP_WINDOW)} replies.",
            **KEEP,
        )
    return {
        "topic": state["topic"],
        "max_turns": int(state["max_turns"]),
        "first_speaker": int(state["first_speaker"]),
        "stop_phrases": state["stop_phrases"],
        "max_seconds": float(state["max_seconds"]) or None,
        "loop_window": int(state.get(LOOP_KEY, LOOP_WINDOW)) if state["loop_detection"] else 0,
        **{k: v for k, v in (state.get(EXTRA_KEY) or {}).items() if v is not None},
    }


def run_config(values: dict[str, Any], bots: list[bot_form.BotForm]) -> RunConfig | str:
    """The RunConfig the page would start, or a message saying what is wrong."""
    problems = [f"{f.values.get('name') or 'A bot'}: {f.error}" for f in bots if f.error]
    if problems:
        return "Fix the bot settings in Setup first. " + " ".join(problems)
    try:
        return validated(RunConfig, {**values, "bots": [f.config for f in bots]})
    except ConfigError as e:
        return e.message


def _load_uploaded(settings: Settings) -> None:
    """on_change of the uploader: fill the widgets from the file, or say why it failed."""
    upload = st.session_state.get("load_setup")
    if upload is None:
        return
    name = upload.name
    try:
        text = upload.getvalue().decode("utf-8")
        config = RunConfig.from_text(text, yaml_format=name.lower().endswith((".yaml", ".yml")))
    except UnicodeDecodeError:
        st.session_state[MESSAGE_KEY] = ("error", f"{name} is not a text file.")
        return
    except ConfigError as e:
        st.session_state[MESSAGE_KEY] = ("error", f"Could not load {name}: {e.message}")
        return
    fill(config, settings)
    capped = config.max_turns > settings.max_turns
    note = f" Max turns lowered to this server's limit of {settings.max_turns}." if capped else ""
    st.session_state[MESSAGE_KEY] = ("success", f"Loaded {name}.{note}")


def save_and_load(config: RunConfig | str, settings: Settings) -> None:
    """A download button for the current setup and an uploader that loads one back."""
    valid = isinstance(config, RunConfig)
    st.download_button(
        "Save setup",
        data=config.dump_json() if valid else "",
        file_name="duet-setup.json",
        mime="application/json",
        key="save_setup",
        icon=":material/download:",
        on_click="ignore",
        disabled=not valid,
        help="Download this setup as a JSON file (no API keys in it).",
    )
    with st.popover("Load setup", icon=":material/upload:"):
        st.file_uploader(
            "A setup file saved from Duet (JSON or YAML)",
            type=["json", "yaml", "yml"],
            key="load_setup",
            on_change=_load_uploaded,
            args=(settings,),
        )


def show_message() -> None:
    """The outcome of the last file load, once."""
    message = st.session_state.pop(MESSAGE_KEY, None)
    if message:
        kind, text = message
        (st.error if kind == "error" else st.success)(text)
