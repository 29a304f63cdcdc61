"""An experiment's results: a table per cell (runs, turns, tokens, cost, latency, how its runs
ended, the mean judge score where judged) and the list of its runs, where a click on a run
opens it below as History shows it (or History lists them all, filtered by the experiment)."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from duet_core.batch import control
from duet_core.batch.experiment import REPEAT
from duet_core.errors import DuetError
from duet_ui.history import data as hd
from duet_ui.history.run import show_run

RUNS_KEY = "experiment_runs"
SHOWN_RUNS = 1_000  # runs listed on the page; History lists them all


def _value(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} ×{n}" for k, n in sorted(counts.items(), key=lambda kv: -kv[1]))


def cells_frame(cells: list[control.CellResult]) -> pd.DataFrame:
    rows = []
    for c in cells:
        row = {k: _value(v) for k, v in c.values.items()} or {"cell": "(the base run)"}
        row.update(
            runs=c.runs,
            turns=c.turns,
            tokens=c.input_tokens + c.output_tokens,
            **{"cost (USD)": c.cost_usd, "latency (ms)": c.latency_ms},
            ended=_counts(c.stop_reasons),
            statuses=_counts(c.statuses),
            **{"judge score": c.judge_score},
        )
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame["judge score"] = pd.to_numeric(frame["judge score"])  # None: not judged (blank)
    return frame


def runs_frame(found: list[control.RunResult]) -> pd.DataFrame:
    rows = []
    for r in found:
        row = {k: _value(v) for k, v in r.cell.items() if k != REPEAT}
        row.update(
            {
                "#": r.index + 1,
                "repeat": r.cell.get(REPEAT, 0) + 1,
                "status": r.status,
                "ended": r.stop_reason or "",
                "turns": r.turns,
                "tokens": r.tokens,
                "cost (USD)": r.cost_usd,
                "run": r.id,
            }
        )
        rows.append(row)
    return pd.DataFrame(rows)


def results(svc, viewer, experiment_id: str) -> None:
    try:
        cells = control.cell_results(svc.store, experiment_id, viewer.username, viewer.is_admin)
        found = control.run_results(
            svc.store, experiment_id, viewer.username, viewer.is_admin, limit=SHOWN_RUNS
        )
    except DuetError as e:
        st.error(e.message, icon=":material/error:")
        return
    st.subheader("Results per cell")
    money = st.column_config.NumberColumn(format="$%.4f")
    st.dataframe(
        cells_frame(cells),
        hide_index=True,
        key="experiment_cells",
        column_config={"cost (USD)": money, "judge score": st.column_config.NumberColumn()},
    )
    with st.container(horizontal=True, vertical_alignment="center"):
        st.subheader("Runs")
        st.page_link(
            "app_pages/history.py",
            label="All its runs in History",
            icon=":material/history:",
            query_params={"experiment": experiment_id},
        )
    frame = runs_frame(found)
    table = st.dataframe(
        frame,
        hide_index=True,
        key=RUNS_KEY,
        on_select="rerun",
        selection_mode="single-cell",
        column_config={"cost (USD)": money, "run": st.column_config.TextColumn("run id")},
    )
    st.caption("Click a run to open it below.")
    cells_picked = list(getattr(table.selection, "cells", None) or [])
    if cells_picked:
        row = int(cells_picked[0][0])
        if 0 <= row < len(found):
            st.query_params["run"] = found[row].id
    if run_id := st.query_params.get("run"):
        with st.container(border=True, key="experiment_opened_run"):
            try:
                show_run(hd.run_for_viewer(svc.store, run_id, viewer), svc, viewer)
            except DuetError as e:
                st.error(str(e))
