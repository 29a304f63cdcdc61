"""Leaderboard: models or personas ranked from people's blind votes, with their intervals,
and how far judges agree with people (duet_ui/evals/board.py)."""

import streamlit as st

from duet_ui.evals.board import render_leaderboard
from duet_ui.shell.services import current_viewer, services

viewer = current_viewer()
st.title(":material/leaderboard: Leaderboard")
render_leaderboard(services().store, viewer)
