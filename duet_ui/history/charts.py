"""Per-turn charts of a run: output tokens, latency and time to first token, per bot.

Drawn with ``st.vega_lite_chart`` from plain Vega-Lite specs: ``st.bar_chart`` /
``st.line_chart`` build them through Altair, whose schema validation took 0.4 s of a 0.5 s
run page on the server (cProfile, 200-turn run)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from duet_core.models import Run
from duet_core.vocabulary import BOT_COLOURS

BOT_HEX = tuple(c.hex for c in BOT_COLOURS)  # as in the transcript

# turns are whole numbers: no tick at 1.5
TURN_AXIS = {"tickMinStep": 1, "format": "d"}


def bot_labels(run: Run) -> list[str]:
    """Labels that tell the two bots apart even when they share a name."""
    names = [b.name for b in run.config.bots]
    if len(set(names)) < len(names):
        names = [f"{n} ({i + 1})" for i, n in enumerate(names)]
    return names


def turn_metrics(run: Run) -> pd.DataFrame:
    """One row per bot turn: turn (1-based), bot, output tokens, latency and TTFT in ms."""
    labels = bot_labels(run)
    rows = [
        {
            "turn": t.index + 1,
            "bot": labels[t.bot_index] if t.bot_index < len(labels) else t.bot_name,
            "output tokens": t.output_tokens,
            "latency (ms)": t.latency_ms,
            "TTFT (ms)": t.ttft_ms,
        }
        for t in run.turns
        if t.bot_index is not None
    ]
    return pd.DataFrame(rows, columns=["turn", "bot", "output tokens", "latency (ms)", "TTFT (ms)"])


def tokens_by_bot(metrics: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """Output tokens as a wide table: index turn, one column per bot in the bots' order."""
    wide = metrics.pivot_table(
        index="turn", columns="bot", values="output tokens", aggfunc="sum", dropna=False
    )
    return wide.reindex(columns=[b for b in labels if b in wide.columns])


def _run_key(run: Run) -> tuple:
    """Changes whenever the run's charts would: its id, turn count and last turn's end."""
    last = run.turns[-1] if run.turns else None
    return (run.id, len(run.turns), last.finished_at if last else None)


@st.cache_data(max_entries=64, show_spinner=False)
def _cached_metrics(key: tuple, _run: Run) -> pd.DataFrame:
    return turn_metrics(_run)


def cached_metrics(run: Run) -> pd.DataFrame:
    """``turn_metrics``, computed once per run and turn count (reruns reuse it)."""
    return _cached_metrics(_run_key(run), run)


def tokens_spec(labels: list[str]) -> dict:
    """Bars of output tokens per turn (``turn_metrics`` rows), a colour per bot as in the
    transcript."""
    return {
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "x": {"field": "turn", "type": "quantitative", "title": "turn", "axis": TURN_AXIS},
            "y": {"field": "output tokens", "type": "quantitative", "title": "tokens"},
            "color": bot_colour_encoding(labels),
        },
    }


def bot_colour_encoding(labels: list[str]) -> dict:
    """Colour by bot, as in the transcript (bot 1 blue, bot 2 orange); names never cut."""
    return {
        "field": "bot",
        "type": "nominal",
        "title": None,
        "scale": {"domain": labels, "range": list(BOT_HEX[: len(labels)])},
        "legend": {"orient": "top", "offset": 4, "labelLimit": 0},
    }


def timings_spec(labels: list[str]) -> dict:
    """Latency (solid, left axis) and time to first token (dashed, right axis) per turn
    (``turn_metrics`` rows), a colour per bot: each on its own scale, so a TTFT of a few ms
    is not flattened on latency's axis of seconds."""

    def layer(field: str, title: str, dash: list[int] | None, orient: str) -> dict:
        mark = {"type": "line", "point": True, "tooltip": True}
        if dash:
            mark["strokeDash"] = dash
        return {
            "mark": mark,
            "encoding": {
                "y": {
                    "field": field,
                    "type": "quantitative",
                    "title": title,
                    "axis": {"orient": orient},
                }
            },
        }

    return {
        "encoding": {
            "x": {"field": "turn", "type": "quantitative", "title": "turn", "axis": TURN_AXIS},
            "color": bot_colour_encoding(labels),
        },
        "layer": [
            layer("latency (ms)", "latency (ms)", None, "left"),
            layer("TTFT (ms)", "TTFT (ms)", [4, 3], "right"),
        ],
        "resolve": {"scale": {"y": "independent"}},
    }


def render_run_charts(run: Run) -> None:
    metrics = cached_metrics(run)
    if metrics.empty:
        st.caption("No bot turns to chart yet.")
        return
    labels = bot_labels(run)
    left, right = st.columns(2)
    with left:
        st.caption("Output tokens per turn")
        tokens = metrics[["turn", "bot", "output tokens"]].dropna(subset=["output tokens"])
        if tokens.empty:
            st.caption("No token counts recorded.")
        else:
            st.vega_lite_chart(tokens, tokens_spec(labels), height=240, width="stretch")
    with right:
        st.caption("Latency (solid, left axis) and time to first token (dashed, right axis), ms")
        timings = metrics.dropna(subset=["latency (ms)", "TTFT (ms)"], how="all")
        if timings.empty:
            st.caption("No timings recorded.")
        else:
            st.vega_lite_chart(timings, timings_spec(labels), height=240, width="stretch")
