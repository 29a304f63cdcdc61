"""Compare: two to four saved runs side by side (``?runs=id1,id2,...``, set by History)."""

import streamlit as st

from duet_core.errors import DuetError
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
    render_compare(runs)
