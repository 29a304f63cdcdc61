"""Runs side by side: a summary of each, their bots' settings with what differs marked, the
conversations turn by turn in columns, then per-turn charts where each bot keeps one colour
(the transcript's) in every chart. The frames are pure (pandas); ``render_compare`` draws."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from duet_core.models import Run, Turn
from duet_core.store import Store
from duet_ui.evals.columns import with_score_rows
from duet_ui.history import data as hd
from duet_ui.history.charts import BOT_HEX, TURN_AXIS
from duet_ui.history.run import render_saved_turn
from duet_ui.shared.transcript import escape_markdown, format_cost

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
DIFFERS = " ≠"  # after a setting's name when the runs' bots differ in it
PROMPT_WIDTH = 600  # characters of a system prompt shown (the whole text wraps)
SIDE_BY_SIDE_FIRST = 20  # turn rows drawn side by side unless all are asked for
DIFF_STYLE = "background-color: rgba(255, 189, 69, 0.35); font-weight: 600"


def run_labels(runs: Sequence[Run]) -> list[str]:
    """``"#1 abc123"``: short, distinct, in the order picked."""
    return [f"#{i + 1} {r.id}" for i, r in enumerate(runs)]


def _setting(bot, field: str) -> str:
    value = getattr(bot, field, None)
    if field == "system_prompt":
        return hd.short(value, PROMPT_WIDTH) if value else ""
    return "—" if value is None else str(value)


def settings_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per setting, one column per bot of each run at its start, grouped by bot
    (bot 1 of every run, then bot 2 of every run) so the values compared sit together.
    A setting in which the runs' bots differ has ``DIFFERS`` after its name."""
    columns = {}
    for slot in range(2):
        for label, run in zip(run_labels(runs), runs, strict=True):
            bot = run.config.bots[slot]
            columns[f"{label} · {bot.name}"] = {f: _setting(bot, f) for f in SETTINGS}
    frame = pd.DataFrame(columns, index=list(SETTINGS))
    differs = differing(frame, len(runs)).any(axis=1)
    frame.index = [f + DIFFERS if differs[f] else f for f in SETTINGS]
    return frame


def differing(frame: pd.DataFrame, n_runs: int) -> pd.DataFrame:
    """True where a bot's setting differs from the same bot's in run #1 (``settings_frame``'s
    column layout: ``n_runs`` columns per bot)."""
    marks = pd.DataFrame(False, index=frame.index, columns=frame.columns)
    for slot in range(2):
        first = frame.columns[slot * n_runs]
        for j in range(1, n_runs):
            column = frame.columns[slot * n_runs + j]
            marks[column] = frame[column] != frame[first]
    return marks


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def totals_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per run: topic, status, turns, tokens, cost, mean latency and TTFT."""
    rows = []
    for label, run in zip(run_labels(runs), runs, strict=True):
        bot_turns = [t for t in run.turns if t.bot_index is not None]
        latency = _mean([t.latency_ms for t in bot_turns if t.latency_ms is not None])
        ttft = _mean([t.ttft_ms for t in bot_turns if t.ttft_ms is not None])
        rows.append(
            {
                "run": label,
                "topic": run.config.topic,
                "status": str(run.status),
                "turns": len(run.turns),
                "input tokens": sum(t.input_tokens or 0 for t in run.turns),
                "output tokens": sum(t.output_tokens or 0 for t in run.turns),
                "cost (USD)": run.total_cost_usd,
                "mean latency (ms)": None if latency is None else round(latency),
                "mean TTFT (ms)": None if ttft is None else round(ttft),
            }
        )
    return pd.DataFrame(rows)


def _ms(value) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:,.0f} ms"


def totals_table(runs: Sequence[Run]) -> pd.DataFrame:
    """The totals turned on their side (one column per run, one row per measure), as text:
    narrow enough for four runs, nothing cut off."""
    totals = totals_frame(runs)
    shown = {
        row["run"]: {
            "status": row["status"],
            "turns": str(row["turns"]),
            "input tokens": f"{row['input tokens']:,}",
            "output tokens": f"{row['output tokens']:,}",
            "cost": format_cost(None if pd.isna(row["cost (USD)"]) else row["cost (USD)"]),
            "mean latency": _ms(row["mean latency (ms)"]),
            "mean TTFT": _ms(row["mean TTFT (ms)"]),
        }
        for _, row in totals.iterrows()
    }
    return pd.DataFrame(shown)


def aligned_turns(runs: Sequence[Run]) -> list[list[Turn | None]]:
    """Row ``i`` holds turn ``i`` of every run (None where a run has fewer turns)."""
    longest = max((len(r.turns) for r in runs), default=0)
    return [[r.turns[i] if i < len(r.turns) else None for r in runs] for i in range(longest)]


def turns_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per bot turn of every run: run ("#1"), series ("#1 · Ada"), slot (0 or 1),
    turn (1-based) and the measures; cost is cumulative per run (a turn of unknown cost adds
    nothing)."""
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
                    "series": series_name(i, run, t.bot_index),
                    "slot": t.bot_index,
                    "turn": t.index + 1,
                    "output tokens": t.output_tokens,
                    "latency (ms)": t.latency_ms,
                    "TTFT (ms)": t.ttft_ms,
                    "cost so far (USD)": round(spent, 8),
                }
            )
    return pd.DataFrame(rows, columns=["run", "series", "slot", "turn", *MEASURES])


def series_name(run_number: int, run: Run, slot: int) -> str:
    return f"#{run_number + 1} · {run.config.bots[slot].name}"


def _shade(hex_colour: str, step: int) -> str:
    """``hex_colour`` darker (odd steps) or lighter (even steps), more with each step: run
    #1 has the bot's own colour, the next runs shades of it."""
    if step == 0:
        return hex_colour
    rgb = [int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]
    amount = 0.3 * ((step + 1) // 2)
    if step % 2:  # darker
        rgb = [round(c * (1 - amount)) for c in rgb]
    else:  # lighter
        rgb = [round(c + (255 - c) * amount) for c in rgb]
    return "#" + "".join(f"{c:02x}" for c in rgb)


def series_colours(runs: Sequence[Run]) -> tuple[list[str], list[str]]:
    """Every series of every chart (domain) and its colour (range): bot 1 in blue and bot 2
    in orange as in the transcript, one shade per run; the same in every chart, whatever
    that chart has data for."""
    domain, colours = [], []
    for i, run in enumerate(runs):
        for slot in range(2):
            domain.append(series_name(i, run, slot))
            colours.append(_shade(BOT_HEX[slot], i))
    return domain, colours


def compare_spec(measure: str, runs: Sequence[Run]) -> dict:
    """Lines of ``measure`` per turn: one per run and bot (colour: the bot's, shaded by
    run; dash: the run), or one per run for the cost so far."""
    legend = {"orient": "top", "offset": 4, "labelLimit": 0, "title": None}
    if measure == "cost so far (USD)":
        colour = {"field": "run", "type": "nominal", "legend": legend}
    else:
        domain, colours = series_colours(runs)
        colour = {
            "field": "series",
            "type": "nominal",
            "scale": {"domain": domain, "range": colours},
            "legend": legend,
        }
    return {
        "mark": {"type": "line", "point": True, "tooltip": True},
        "encoding": {
            "x": {"field": "turn", "type": "quantitative", "title": "turn", "axis": TURN_AXIS},
            "y": {"field": measure, "type": "quantitative", "title": measure},
            "color": colour,
            "strokeDash": {"field": "run", "type": "nominal", "legend": None},
        },
    }


# --- drawing --------------------------------------------------------------------------------


def _styled_settings(frame: pd.DataFrame, n_runs: int):
    marks = differing(frame, n_runs)
    return frame.style.apply(
        lambda column: [DIFF_STYLE if m else "" for m in marks[column.name]], axis=0
    )


def render_side_by_side(runs: Sequence[Run]) -> None:
    """The conversations in columns, turn ``i`` of each run on one row."""
    rows = aligned_turns(runs)
    if not rows:
        st.caption("No turns yet.")
        return
    hidden = len(rows) - SIDE_BY_SIDE_FIRST
    show_all = hidden > 0 and st.toggle(
        f"Show the {hidden} later turns", key="compare_show_all_turns"
    )
    heads = st.columns(len(runs), gap="small")
    for column, label, run in zip(heads, run_labels(runs), runs, strict=True):
        column.markdown(
            f"**{escape_markdown(label)}** · {escape_markdown(hd.short(run.config.topic, 60))}",
            help=escape_markdown(run.config.topic),
        )
        column.page_link(
            "app_pages/history.py",
            label="Open in History",
            icon=":material/history:",
            query_params={"run": run.id},
        )
    for i, row in enumerate(rows if show_all else rows[:SIDE_BY_SIDE_FIRST]):
        columns = st.columns(len(runs), gap="small")
        for j, (column, turn, run) in enumerate(zip(columns, row, runs, strict=True)):
            with column:
                st.caption(f"Turn {i + 1} · #{j + 1}")  # stacked on a phone: whose turn
                if turn is None:
                    st.caption("(no such turn in this run)")
                else:
                    render_saved_turn(turn, run.config)


def render_compare(runs: Sequence[Run], store: Store | None = None) -> None:
    st.subheader("Totals", anchor=False)
    totals = totals_table(runs)
    st.table(totals if store is None else with_score_rows(store, totals, runs))  # + scores

    st.subheader("Settings", anchor=False)
    frame = settings_frame(runs)
    st.caption(
        "Each bot's settings at the start of each run. ≠ marks a setting in which the runs"
        " differ; the highlighted values differ from run #1's."
    )
    st.table(_styled_settings(frame, len(runs)))

    st.subheader("Turn by turn", anchor=False)
    render_side_by_side(runs)

    st.subheader("Per turn", anchor=False)
    data = turns_frame(runs)
    if data.empty:
        st.caption("No bot turns yet.")
        return
    left, right = st.columns(2)
    for i, (measure, title) in enumerate(MEASURES.items()):
        points = data.dropna(subset=[measure])
        with left if i % 2 == 0 else right:
            st.caption(title)
            if points.empty:
                st.caption("Not recorded.")
            else:
                spec = compare_spec(measure, runs)  # plain Vega-Lite: no Altair validation
                st.vega_lite_chart(points, spec, height=240, width="stretch")
