"""The Leaderboard page: models (or personas) ranked from people's blind votes by
Bradley-Terry with 95% bootstrap intervals (``duet_core.evals.leaderboard``, as ``eval
leaderboard`` and ``GET /api/leaderboard``), as a chart with error bars and a table of wins,
losses and ties; filterable by experiment and topic; beside it, how far each judge agrees with
people on the turns both scored (``duet_core.evals.agreement``)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from duet_core.errors import DuetError
from duet_core.evals.agreement import Agreement, agreements
from duet_core.evals.leaderboard import ROUNDS, Comparison, Standing, comparisons, leaderboard
from duet_core.store import Store
from duet_core.store.experiments import ExperimentQueue
from duet_ui.shell.services import Viewer

BY = {"model": "Models", "persona": "Personas"}
TABLE_COLUMNS = ("rank", "name", "rating", "95% low", "95% high", "wins", "losses", "ties")


@st.cache_data(max_entries=32, show_spinner="Fitting the ratings…")
def fitted(items: tuple[tuple[str, str, float], ...], rounds: int = ROUNDS) -> list[Standing]:
    """The standings for these comparisons (the bootstrap takes a second or two: kept)."""
    return leaderboard([Comparison(a, b, s) for a, b, s in items], rounds=rounds)


def standings_frame(board: Sequence[Standing]) -> pd.DataFrame:
    """One row per model (persona), best first."""
    rows = [
        {
            "rank": i,
            "name": s.name,
            "rating": round(s.rating),
            "95% low": round(s.ci_low),
            "95% high": round(s.ci_high),
            "wins": s.wins,
            "losses": s.losses,
            "ties": s.ties,
        }
        for i, s in enumerate(board, start=1)
    ]
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def chart_spec(names: Sequence[str]) -> dict:
    """Each rating as a point on its 95% interval (a rule), best at the top."""
    y = {
        "field": "name",
        "type": "nominal",
        "sort": list(names),
        "title": None,
        "axis": {"labelLimit": 320},
    }
    tooltip = [{"field": f, "type": "quantitative"} for f in ("rating", "95% low", "95% high")]
    return {
        "layer": [
            {
                "mark": {"type": "rule", "strokeWidth": 2, "color": "#8a8fa3"},
                "encoding": {
                    "y": y,
                    "x": {
                        "field": "95% low",
                        "type": "quantitative",
                        "title": "rating (Elo scale)",
                        "scale": {"zero": False},
                    },
                    "x2": {"field": "95% high"},
                },
            },
            {
                "mark": {"type": "point", "filled": True, "size": 90, "color": "#1c83e1"},
                "encoding": {
                    "y": y,
                    "x": {"field": "rating", "type": "quantitative"},
                    "tooltip": [{"field": "name", "type": "nominal"}, *tooltip],
                },
            },
        ]
    }


def agreement_frame(found: Sequence[Agreement]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "judge": a.judge,
                "turns": a.items,
                "Spearman ρ": "—" if a.spearman is None else f"{a.spearman:+.2f}",
            }
            for a in found
        ],
        columns=["judge", "turns", "Spearman ρ"],
    )


def _filters(store: Store, viewer: Viewer) -> tuple[str, str | None, str | None]:
    owner = None if viewer.is_admin else viewer.username
    experiments = {e.id: e for e in ExperimentQueue(store).list(owner=owner)}
    topics = store.evaluations.voted_topics(owner=owner)
    c1, c2, c3 = st.columns([1.2, 2, 2], vertical_alignment="bottom")
    by = c1.segmented_control(
        "Rank", list(BY), format_func=BY.get, key="board_by", default="model", required=True
    )
    experiment = c2.selectbox(
        "Experiment",
        list(experiments),
        index=None,
        placeholder="every vote",
        format_func=lambda i: f"{experiments[i].name} ({i})",
        key="board_experiment",
        help="Only votes between two runs of this experiment.",
    )
    topic = c3.selectbox(
        "Topic",
        topics,
        index=None,
        placeholder="any topic",
        key="board_topic",
        help="Only votes between two runs on this topic.",
    )
    return by or "model", experiment, topic


def render_leaderboard(store: Store, viewer: Viewer) -> None:
    try:
        by, experiment, topic = _filters(store, viewer)
        votes = store.evaluations.votes(experiment_id=experiment, topic=topic)
        pairs = agreements(store.evaluations.paired_scores(experiment_id=experiment))
    except DuetError as e:
        st.error(str(e))
        return
    items = tuple((c.a, c.b, c.score) for c in comparisons(votes, by))  # type: ignore[arg-type]
    board = fitted(items) if items else []
    left, right = st.columns([2.2, 1], gap="large")
    with left:
        st.subheader(f"{BY[by]} by people's votes", anchor=False)
        if not board:
            what = "models" if by == "model" else "personas"
            st.info(
                f"No votes between two different {what} here yet: open two runs in Compare "
                "and vote in its Blind vote tab.",
                icon=":material/how_to_vote:",
            )
            st.page_link(
                "app_pages/history.py", label="Pick runs in History", icon=":material/history:"
            )
        else:
            frame = standings_frame(board)
            st.vega_lite_chart(
                frame,
                chart_spec(list(frame["name"])),
                height=max(120, 44 * len(frame)),
                width="stretch",
            )
            with st.container(key="board_table"):
                st.table(frame, hide_index=True)
            st.caption(
                f"{len(items)} vote{'s' if len(items) != 1 else ''} between different "
                f"{by}s. Bradley-Terry ratings on the Elo scale (400 points: 10 to 1 odds), "
                f"a tie counting half a win; 95% intervals from {ROUNDS} bootstrap rounds."
            )
    with right:
        st.subheader("Judges vs people", anchor=False)
        if not pairs:
            st.caption(
                "No turn was scored by both a judge (per turn) and a person yet: judge a run "
                "per turn in History and rate its turns."
            )
        else:
            with st.container(key="agreement_table"):
                st.table(agreement_frame(pairs), hide_index=True)
            st.caption(
                "Spearman's rank correlation between each judge's score and people's mean "
                "score of the same turns: 1 the same order, 0 unrelated, −1 reversed; empty "
                "with fewer than three turns or scores that never vary."
            )
