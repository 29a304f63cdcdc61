"""The Prompt Lab's question: regenerate which turn (or continue), with how many variants, and
the text that labels each variant. Pure helpers (``turn_label``, ``variant_label``) are
unit-tested; ``pick_target`` draws."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from duet_core.lab.sources import LabSource
from duet_core.models import BotConfig, Run, Turn
from duet_ui.shared.transcript import render_turn, render_turns

ACTIONS = {"regenerate": "Regenerate a turn", "continue": "Continue: one more turn"}
SNIPPET = 48


@dataclass(frozen=True)
class Target:
    """What the variants write: turn ``index`` again (regenerate) or the next one (continue),
    by bot ``bot_index`` starting from settings ``base``."""

    action: str
    index: int
    bot_index: int
    base: BotConfig
    original: Turn | None  # the turn being replayed

    def asked(self, source: LabSource) -> tuple:
        return (source.kind, source.label, source.run.id, self.action, self.index)


def turn_label(turn: Turn) -> str:
    """``Turn 2 · Bob: It depends on the…`` (the page counts turns from 1)."""
    text = " ".join(turn.content.split())
    text = text if len(text) <= SNIPPET else text[: SNIPPET - 1] + "…"
    return f"Turn {turn.index + 1} · {turn.bot_name}: {text}"


def variant_label(v: int, bot: BotConfig | None) -> str:
    """``Variant 1 · gpt-4.1-mini · temperature 1.3 · thinking 2048``."""
    parts = [f"Variant {v + 1}"]
    if bot is not None:
        parts.append(bot.model)
        if bot.temperature is not None:
            parts.append(f"temperature {bot.temperature:g}")
        if bot.effort is not None:
            parts.append(f"effort {bot.effort}")
        if bot.thinking_budget:
            parts.append(f"thinking {bot.thinking_budget}")
        if bot.prompt is not None:
            parts.append(bot.prompt.label)
    return " · ".join(parts)


def pick_target(run: Run) -> Target | None:
    """Draw the action and turn pickers; what the variants will write."""
    action = st.radio(
        "Experiment",
        list(ACTIONS),
        format_func=ACTIONS.__getitem__,
        horizontal=True,
        key="lab_action",
    )
    if action == "continue":
        bot_index = run.next_speaker
        base = run.bots_in_use()[bot_index]
        index = run.turns[-1].index + 1 if run.turns else 0
        with st.expander(f"The conversation so far ({len(run.turns)} turns)"):
            render_turns(run.turns, run.config)
        st.caption(f"{base.name} writes turn {index + 1}.")
        return Target("continue", index, bot_index, base, None)
    bot_turns = {t.index: t for t in run.turns if t.bot_index is not None}
    if not bot_turns:
        st.info("This run has no bot turns to regenerate.")
        return None
    index = st.selectbox(
        "Turn to regenerate",
        list(bot_turns),
        format_func=lambda i: turn_label(bot_turns[i]),
        key="lab_turn",
    )
    turn = bot_turns[index]
    before = [t for t in run.turns if t.index < index]
    with st.expander(f"What {turn.bot_name} saw: the {len(before)} turns before"):
        render_turns(before, run.config)
    with st.expander(f"The original turn {index + 1}", expanded=True):
        render_turn(turn, run.config)
    base = turn.config or run.bots_before(index)[turn.bot_index]  # type: ignore[index]
    return Target("regenerate", index, turn.bot_index, base, turn)  # type: ignore[arg-type]
