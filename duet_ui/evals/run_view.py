"""A saved run's evaluation on its History page: the judges' scores at its top, the judge
panel, and beside each turn its scores and people's ratings (with the viewer's own score to
give, when "Rate turns" is on)."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from duet_core.errors import DuetError
from duet_core.evals.votes import rate_turn
from duet_core.models import Run, RunStatus, Turn
from duet_core.store.evaluations import TurnRating
from duet_ui.evals import scores
from duet_ui.evals.judge_panel import judge_panel
from duet_ui.shared.transcript import escape_markdown
from duet_ui.shell.services import Services, Viewer

RATE_KEY = "rate_turns"  # the "Rate turns" toggle
RATING_NOTE = "_rating_note"  # a rating that could not be saved: (run id, text)
SCALE = list(range(1, 11))
Beside = Callable[[Turn], None]


def rating_key(run_id: str, turn: int) -> str:
    return f"rate_{run_id}_{turn}"


def render_summaries(run: Run, ratings: list[TurnRating]) -> None:
    """The judges' scores (the run's own, or the mean over its turns) and people's mean."""
    found = scores.summaries(run.evaluations)
    if not found and not ratings:
        return
    with st.container(horizontal=True, key="run_scores", gap="small"):
        for s in found:
            with st.container(border=True, width=260):
                st.metric(
                    s.name,
                    s.value,
                    help=f"Judged by {s.model}" if s.model else None,
                )
                if s.note:
                    st.caption(escape_markdown(s.note))
        if ratings:
            with st.container(border=True, width=260):
                people = sorted({r.rater for r in ratings})
                st.metric("people", f"{sum(r.score for r in ratings) / len(ratings):.1f}/10")
                st.caption(
                    f"mean of {len(ratings)} turn rating{'s' if len(ratings) != 1 else ''}"
                    f" by {escape_markdown(', '.join(people))}"
                )


def _save_rating(svc: Services, viewer: Viewer, run_id: str, turn: int) -> None:
    value = st.session_state.get(rating_key(run_id, turn))
    if value is None:
        return  # unpicked: a rating is replaced, never removed here
    try:
        rate_turn(svc.store, run_id, turn, int(value), viewer.username)
    except DuetError as e:
        st.session_state[RATING_NOTE] = (run_id, str(e))


def beside_turns(run: Run, ratings: list[TurnRating], svc: Services, viewer: Viewer) -> Beside:
    """What is drawn inside each turn, after its text: the judges' scores of it with their
    reasons, people's ratings, and the viewer's own score to give."""
    judged = scores.by_turn(run.evaluations)
    rated = scores.ratings_by_turn(ratings)
    rating = bool(st.session_state.get(RATE_KEY))
    mine = {r.turn: r.score for r in ratings if r.rater == viewer.username}

    def beside(turn: Turn) -> None:
        lines = [
            f":violet-badge[:material/gavel: {escape_markdown(scores.label(e))} {e.score}/10]"
            f" :gray[:small[{escape_markdown(e.reason)}]]"
            for e in judged.get(turn.index, [])
        ]
        people = scores.people_line(rated.get(turn.index, []))
        if people:
            lines.append(f":blue-badge[:material/person: {escape_markdown(people)}]")
        if lines:
            st.markdown("  \n".join(lines))
        if rating and turn.bot_index is not None:
            key = rating_key(run.id, turn.index)
            if key not in st.session_state and turn.index in mine:
                st.session_state[key] = mine[turn.index]
            st.segmented_control(
                "Your score",
                SCALE,
                key=key,
                on_change=_save_rating,
                args=(svc, viewer, run.id, turn.index),
                label_visibility="collapsed",
                help="Your score for this turn, 1 (poor) to 10 (excellent).",
            )

    return beside


def evaluation_panel(run: Run, svc: Services, viewer: Viewer) -> Beside:
    """The run's scores and the judge panel (a run still going is judged once it ends); the
    function that draws each turn's scores."""
    ratings = svc.store.evaluations.ratings_for_run(run.id)
    render_summaries(run, ratings)
    note = st.session_state.get(RATING_NOTE)
    if note and note[0] == run.id:
        st.error(note[1], icon=":material/error:")
        st.session_state.pop(RATING_NOTE, None)
    status = RunStatus(run.status)
    with st.container(horizontal=True, vertical_alignment="top"):
        if not (status.live or status == RunStatus.QUEUED):
            with st.container(width="stretch"):
                judge_panel(run, svc, viewer)
        st.toggle(
            "Rate turns",
            key=RATE_KEY,
            help="Give each turn your own score from 1 to 10; they count in the judges' "
            "agreement with people on the Leaderboard page.",
        )
    return beside_turns(run, ratings, svc, viewer)
