"""The blind pairwise vote in Compare: two of the runs shown as A and B in a random order,
their conversations without models or settings; a vote (A, B or tie) is recorded with who
voted (``duet_core.evals.votes.cast_vote``, as ``eval vote`` and ``POST /api/votes``), and only
then does the page say which run, model and persona each side was."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import streamlit as st

from duet_core.errors import ConfigError, DuetError
from duet_core.evals.votes import blind_order, cast_vote, differing_bot
from duet_core.models import Run
from duet_core.store import Store
from duet_core.store.evaluations import Vote
from duet_ui.shared.transcript import escape_markdown, render_turn_body
from duet_ui.shell.services import Viewer

ORDERS_KEY = "_blind_orders"  # {pair: (run shown as A, run shown as B)}
VOTED_KEY = "_blind_votes"  # {pair: the vote cast}, until "Vote again"
WINNERS = {"a": "A is better", "tie": "Tie", "b": "B is better"}
ICONS = {
    "a": ":material/arrow_back:",
    "tie": ":material/drag_handle:",
    "b": ":material/arrow_forward:",
}


def pair_key(run_a: str, run_b: str) -> str:
    return ",".join(sorted((run_a, run_b)))


def sides(run_a: str, run_b: str) -> tuple[str, str]:
    """The pair's blind order, picked once per session (until the vote is revealed and a
    new one asked for)."""
    orders = st.session_state.setdefault(ORDERS_KEY, {})
    key = pair_key(run_a, run_b)
    if key not in orders:
        orders[key] = blind_order(run_a, run_b)
    return orders[key]


def _bot_index(a: Run, b: Run) -> int:
    """The bot the vote is about: the one whose settings differ, else the person says."""
    try:
        return differing_bot(a, b)
    except ConfigError:
        names = [f"Bot {i + 1} ({a.config.bots[i].name})" for i in (0, 1)]
        picked = st.radio(
            "The vote is about",
            [0, 1],
            format_func=lambda i: names[i],
            key="vote_bot",
            horizontal=True,
            help="The runs' bots do not differ in one bot alone: say whose turns you judge.",
        )
        return int(picked or 0)


def _blind_turns(run: Run) -> None:
    """The conversation with names and text only: no model, avatar or figures."""
    for turn in run.turns:
        label = turn.bot_name or ("Person" if turn.by_person else "Bot")
        with st.chat_message(label, avatar=":material/person:" if turn.by_person else None):
            st.markdown(f"**{escape_markdown(label)}**")
            render_turn_body(turn)


def _reveal(vote: Vote, numbers: dict[str, int]) -> None:
    said = {"a": "A was better", "b": "B was better", "tie": "a tie"}[vote.winner]
    st.success(f"Vote saved ({said}).", icon=":material/how_to_vote:")
    rows = [
        ("A", vote.run_a, vote.model_a, vote.persona_a),
        ("B", vote.run_b, vote.model_b, vote.persona_b),
    ]
    st.table(
        {
            "side": [r[0] for r in rows],
            "run": [f"#{numbers[r[1]]} {r[1]}" for r in rows],
            f"bot {vote.bot_index + 1}'s model": [r[2] for r in rows],
            "persona": [r[3] for r in rows],
        },
        hide_index=True,
    )


def blind_vote(runs: Sequence[Run], store: Store, viewer: Viewer) -> None:
    """Pick a pair (of three or four runs), read A and B, vote; then see who was who."""
    numbers = {r.id: i + 1 for i, r in enumerate(runs)}
    by_id = {r.id: r for r in runs}
    pairs = list(combinations([r.id for r in runs], 2))
    pair = pairs[0]
    if len(pairs) > 1:
        pair = st.selectbox(
            "Runs to vote on",
            pairs,
            format_func=lambda p: f"#{numbers[p[0]]} and #{numbers[p[1]]}",
            key="vote_pair",
        )
    key = pair_key(*pair)
    side_a, side_b = sides(*pair)
    a, b = by_id[side_a], by_id[side_b]
    voted: Vote | None = st.session_state.setdefault(VOTED_KEY, {}).get(key)
    st.caption(
        "Which run's bot did better? The two runs are A and B in a random order, with no "
        "models or settings shown; which is which shows once you vote."
    )
    bot_index = _bot_index(a, b)
    if voted is None:
        with st.container(horizontal=True, key="vote_buttons"):
            for winner, text in WINNERS.items():
                if st.button(text, key=f"vote_{winner}", icon=ICONS[winner]):
                    try:
                        saved = cast_vote(store, side_a, side_b, winner, viewer.username, bot_index)
                    except DuetError as e:
                        st.error(str(e))
                    else:
                        st.session_state[VOTED_KEY][key] = saved
                        st.rerun()
    else:
        _reveal(voted, numbers)

        def again() -> None:
            st.session_state[VOTED_KEY].pop(key, None)
            st.session_state[ORDERS_KEY].pop(key, None)

        st.button("Vote again", key="vote_again", icon=":material/refresh:", on_click=again)
    name = a.config.bots[bot_index].name
    st.caption(f"The vote is about bot {bot_index + 1} ({escape_markdown(name)}).")
    left, right = st.columns(2, gap="medium")
    for column, side, run in ((left, "A", a), (right, "B", b)):
        with column, st.container(border=True, key=f"vote_side_{side.lower()}"):
            st.markdown(f"### {side}")
            _blind_turns(run)
