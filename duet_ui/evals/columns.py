"""Score columns: ``score`` (the judges' mean, 1-10) and ``rating`` (people's mean per-turn
score) in History's list; the same two rows in Compare's totals."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from duet_core.models import Run
from duet_core.store import Store
from duet_ui.evals import scores

SCORE, RATING = "score", "rating"
AFTER = "cost (USD)"  # the columns come right after it


def with_score_columns(store: Store, frame: pd.DataFrame) -> pd.DataFrame:
    """History's runs table with ``score`` and ``rating`` after the cost (empty: not judged,
    not rated)."""
    ids = list(frame["run"])
    judged = store.evaluations.mean_scores(ids)
    rated = store.evaluations.people_means(ids)
    frame = frame.copy()
    at = list(frame.columns).index(AFTER) + 1 if AFTER in frame.columns else len(frame.columns)
    frame.insert(at, SCORE, [scores.overall(judged.get(i)) for i in ids])
    frame.insert(at + 1, RATING, [rated.get(i) for i in ids])
    frame[[SCORE, RATING]] = frame[[SCORE, RATING]].astype("Float64")
    return frame


def score_column_config() -> dict[str, object]:
    """The two columns' look in ``st.dataframe``."""
    return {
        SCORE: st.column_config.NumberColumn(
            SCORE,
            format="%.1f",
            width=60,
            help="The judges' mean score (1-10); each judge counts once. — : not judged.",
        ),
        RATING: st.column_config.NumberColumn(
            RATING,
            format="%.1f",
            width=60,
            help="People's mean score of its turns (1-10). — : nobody rated it.",
        ),
    }


def with_score_rows(store: Store, table: pd.DataFrame, runs: Sequence[Run]) -> pd.DataFrame:
    """Compare's totals (one column per run) with a row per judge and one for people's
    ratings, when any run has them."""
    rated = store.evaluations.people_means([r.id for r in runs])
    names: dict[str, None] = {}
    per_run = []
    for run in runs:
        found = {s.name: s for s in scores.summaries(run.evaluations)}
        names.update(dict.fromkeys(found))
        per_run.append(found)
    rows: dict[str, list[str]] = {
        f"score · {name}": [f[name].value if name in f else "—" for f in per_run] for name in names
    }
    if rated:
        rows["people's rating"] = [f"{rated[r.id]:.1f}/10" if r.id in rated else "—" for r in runs]
    if not rows:
        return table
    extra = pd.DataFrame(rows, index=table.columns).T
    return pd.concat([table, extra])
