"""Experiments: start one (from a file or a form built from the current setup, with its runs
and cost shown first), follow it live (pause, resume, cancel), read its results per cell and
open any of its runs (duet_ui/experiments/). The server's worker runs the queued runs."""

import streamlit as st

from duet_core.batch.app_worker import ensure_worker
from duet_core.store.experiments import ExperimentQueue
from duet_ui.experiments.new import new_experiment
from duet_ui.experiments.progress import ENDED, STATUS_TEXT, progress_panel
from duet_ui.experiments.results import results
from duet_ui.shell.services import current_viewer, services

viewer = current_viewer()
svc = services()
ensure_worker(svc)  # this server works on the queue too: started experiments go on

st.title(":material/grid_view: Experiments")

mine = ExperimentQueue(svc.store).list(None if viewer.is_admin else viewer.username, limit=200)
ids = [r.id for r in mine]
names = {r.id: f"{r.name} · {r.run_count:,} runs · {STATUS_TEXT[r.status]}" for r in mine}
chosen = st.query_params.get("experiment")

with st.expander("New experiment", expanded=not ids, icon=":material/add:"):
    new_experiment(svc, viewer)

if not ids:
    st.info("No experiments yet: start one above.", icon=":material/grid_view:")
    st.stop()


def _pick() -> None:
    st.query_params["experiment"] = st.session_state["exp_pick"]
    st.query_params.pop("run", None)


if chosen not in ids:
    chosen = ids[0]
st.session_state["exp_pick"] = chosen
st.selectbox(
    "Experiment", ids, format_func=lambda i: names.get(i, i), key="exp_pick", on_change=_pick
)
record = next(r for r in mine if r.id == chosen)
progress_panel(svc, viewer, chosen, live=record.status not in ENDED)
results(svc, viewer, chosen)
