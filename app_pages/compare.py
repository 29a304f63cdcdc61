"""Compare: two to four saved runs side by side (``?runs=id1,id2,...``, set by History), or a
blind vote between two of them (duet_ui/evals/vote.py); the tab not open is not drawn."""

import streamlit as st

from duet_core.errors import DuetError
from duet_ui.evals.vote import blind_vote
from duet_ui.history import data as hd
from duet_ui.history import pick as hp
from duet_ui.history.compare import render_compare
from duet_ui.shell.services import current_viewer, services

viewer = current_viewer()
store = services().store

st.title(":material/compare: Compare runs")
ids = hp.compare_ids(st.query_params.get("runs", ""))
runs = []
for run_id in ids:
    try:
        runs.append(hd.run_for_viewer(store, run_id, viewer))
    except DuetError as e:
        st.error(f"{run_id}: {e}")

if len(runs) < 2:
    st.info(f"Tick 2–{hp.COMPARE_MAX} rows in History, then press Compare.")
    st.page_link("app_pages/history.py", label="Go to History", icon=":material/history:")
else:
    side_by_side, vote = st.tabs(
        [":material/view_column: Side by side", ":material/how_to_vote: Blind vote"],
        key="compare_view",
        on_change="rerun",
    )
    if vote.open:
        with vote:
            blind_vote(runs, store, viewer)
    else:
        with side_by_side:
            render_compare(runs, store)
