"""Runs side by side: each bot's settings, per-turn output tokens, latency, TTFT and cost on
shared charts, and totals. The frames are pure (pandas); ``render_compare`` draws them."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from duet_core.models import Run
from duet_ui.history import data as hd
from duet_ui.history.charts import line_spec

SETTINGS = (
    "provider",
    "model",
    "temperature",
    "top_p",
    "effort",
    "max_tokens",
    "thinking_budget",
    "system_prompt",
)
MEASURES = {
    "output tokens": "Output tokens per turn",
    "latency (ms)": "Latency per turn (ms)",
    "TTFT (ms)": "Time to first token per turn (ms)",
    "cost so far (USD)": "Cost so far (USD)",
}


def run_labels(runs: Sequence[Run]) -> list[str]:
    """``"#1 abc123"``: short, distinct, in the order picked."""
    return [f"#{i + 1} {r.id}" for i, r in enumerate(runs)]


def settings_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """One column per run and bot (the settings at the start), one row per setting."""
    columns = {}
    for label, run in zip(run_labels(runs), runs, strict=True):
        for bot in run.config.bots:
            values = {}
            for field in SETTINGS:
                value = getattr(bot, field, None)
                if field == "system_prompt":
                    value = hd.short(value, 60) if value else ""
                values[field] = "—" if value is None else str(value)
            columns[f"{label} · {bot.name}"] = values
    return pd.DataFrame(columns, index=list(SETTINGS))


def turns_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per bot turn of every run: run ("#1"), series ("#1 · Ada"), turn (1-based)
    and the measures; cost is cumulative per run (a turn of unknown cost adds nothing)."""
    rows = []
    for i, run in enumerate(runs):
        spent = 0.0
        for t in run.turns:
            spent += t.cost_usd or 0.0
            if t.bot_index is None:
                continue
            rows.append(
                {
                    "run": f"#{i + 1}",
                    "series": f"#{i + 1} · {t.bot_name}",
                    "turn": t.index + 1,
                    "output tokens": t.output_tokens,
                    "latency (ms)": t.latency_ms,
                    "TTFT (ms)": t.ttft_ms,
                    "cost so far (USD)": round(spent, 8),
                }
            )
    return pd.DataFrame(rows, columns=["run", "series", "turn", *MEASURES])


def totals_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per run: topic, status, turns, tokens, cost, mean latency and TTFT."""
    rows = []
    for label, run in zip(run_labels(runs), runs, strict=True):
        bot_turns = [t for t in run.turns if t.bot_index is not None]
        latencies = [t.latency_ms for t in bot_turns if t.latency_ms is not None]
        ttfts = [t.ttft_ms for t in bot_turns if t.ttft_ms is not None]
        rows.append(
            {
                "run": label,
                "topic": hd.short(run.config.topic, 40),
                "status": str(run.status),
                "turns": len(run.turns),
                "input tokens": sum(t.input_tokens or 0 for t in run.turns),
                "output tokens": sum(t.output_tokens or 0 for t in run.turns),
                "cost (USD)": run.total_cost_usd,
                "mean latency (ms)": round(sum(latencies) / len(latencies)) if latencies else None,
                "mean TTFT (ms)": round(sum(ttfts) / len(ttfts)) if ttfts else None,
            }
        )
    return pd.DataFrame(rows)


def render_compare(runs: Sequence[Run]) -> None:
    st.subheader("Totals")
    st.dataframe(
        totals_frame(runs),
        hide_index=True,
        column_config={
            "cost (USD)": st.column_config.NumberColumn(format="$%.4f"),
            "input tokens": st.column_config.NumberColumn(format="localized"),
            "output tokens": st.column_config.NumberColumn(format="localized"),
        },
    )
    st.subheader("Settings")
    st.dataframe(settings_frame(runs))

    st.subheader("Per turn")
    frame = turns_frame(runs)
    if frame.empty:
        st.caption("No bot turns yet.")
        return
    left, right = st.columns(2)
    for i, (measure, title) in enumerate(MEASURES.items()):
        data = frame.dropna(subset=[measure])
        with left if i % 2 == 0 else right:
            st.caption(title)
            if data.empty:
                st.caption("Not recorded.")
            else:
                colour = "run" if measure == "cost so far (USD)" else "series"
                spec = line_spec(measure, colour)  # plain Vega-Lite: no Altair validation
                st.vega_lite_chart(data, spec, height=260, width="stretch")
