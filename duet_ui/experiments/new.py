"""A new experiment on the Experiments page: from an experiment file (uploaded or pasted, the
schema of ``python -m duet_core batch``) or from a small form built from the current setup
(topics, repeats, one bot's temperatures and models to vary). The number of runs and the
estimate of tokens and cost show before Start; Start queues the runs and the server's worker
runs them."""

from __future__ import annotations

from typing import Any

import streamlit as st

from duet_core import config_text
from duet_core.batch import control
from duet_core.batch.app_worker import ensure_worker
from duet_core.batch.estimate import estimate
from duet_core.batch.experiment import Experiment, experiment_from_data
from duet_core.errors import ConfigError
from duet_core.models import RunConfig
from duet_ui.conversation.setup_file import default_setup

FORM, FILE = "Form", "File"
EXAMPLE = """name: my-sweep
run:
  topic: Should cities ban private cars?
  max_turns: 4
  bots:
    - {name: Ada, provider: demo, model: demo}
    - {name: Bob, provider: demo, model: demo}
topics: [Ban cars?, Tax meat?]
vary:
  bots[0].temperature: [0.2, 1.0]
repeats: 2
concurrency: 4
"""


def current_setup(settings) -> RunConfig:
    """The conversation page's setup as this session left it (topic and turn limit), on the
    default bots."""
    base = default_setup(settings)
    state = st.session_state
    changes = {}
    if str(state.get("topic") or "").strip():
        changes["topic"] = str(state["topic"]).strip()
    if isinstance(state.get("max_turns"), int):
        changes["max_turns"] = state["max_turns"]
    return base.model_copy(update=changes)


def _numbers(text: str, what: str) -> list[float]:
    values = []
    for piece in text.replace(";", ",").split(","):
        if piece.strip():
            try:
                values.append(float(piece))
            except ValueError:
                raise ConfigError(f"{what}: '{piece.strip()}' is not a number.") from None
    return values


def from_form(settings) -> dict[str, Any]:
    """The experiment the form describes, as plain data (checked by the caller)."""
    base = current_setup(settings)
    names = [b.name for b in base.bots]
    name = st.text_input("Name", value=f"Sweep: {base.topic[:40]}", key="exp_name")
    topics = st.text_area(
        "Topics (one per line)", value=base.topic, key="exp_topics", height=90
    ).splitlines()
    c1, c2, c3 = st.columns(3)
    repeats = c1.number_input("Repeats", 1, 1_000, 1, key="exp_repeats")
    concurrency = c2.number_input("At once", 1, 100, 4, key="exp_concurrency")
    budget = c3.number_input(
        "Budget (USD, 0: none)", 0.0, 1_000_000.0, 0.0, step=1.0, key="exp_budget"
    )
    c4, c5, c6 = st.columns([1, 1, 2])
    bot = c4.selectbox("Vary bot", (0, 1), format_func=lambda i: names[i], key="exp_bot")
    temperatures = c5.text_input("Temperatures", placeholder="e.g. 0.2, 1.0", key="exp_temps")
    models = c6.text_input("Models", placeholder="e.g. gpt-4.1-mini, gpt-4o", key="exp_models")
    vary: dict[str, list[Any]] = {}
    if temperatures.strip():
        vary[f"bots[{bot}].temperature"] = _numbers(temperatures, "Temperatures")
    if models.strip():
        vary[f"bots[{bot}].model"] = [m.strip() for m in models.split(",") if m.strip()]
    data: dict[str, Any] = {
        "name": name,
        "run": base.model_dump(mode="json", exclude_none=True),
        "topics": [t.strip() for t in topics if t.strip()],
        "vary": vary,
        "repeats": int(repeats),
        "concurrency": int(concurrency),
    }
    if budget:
        data["budget_usd"] = float(budget)
    return data


def from_file() -> Any:
    """The experiment file uploaded or pasted, as plain data."""
    upload = st.file_uploader(
        "An experiment file (YAML or JSON)", type=["yaml", "yml", "json"], key="exp_upload"
    )
    if upload is not None:
        try:
            text = upload.getvalue().decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{upload.name} is not a text file.") from None
    else:
        text = st.text_area(
            "Or paste one", key="exp_text", height=240, placeholder=EXAMPLE, help="As for "
            "python -m duet_core batch; run and topics inline (base and topics_file name files)."
        )  # fmt: skip
        if not text.strip():
            return None
    return config_text.parse(text, yaml_format=True)  # YAML reads JSON too


def new_experiment(svc, viewer) -> None:
    """The form (or file), what it will cost, and Start."""
    source = st.segmented_control("Start from", (FORM, FILE), default=FORM, key="exp_source")
    experiment: Experiment | None = None
    try:
        data = from_file() if source == FILE else from_form(svc.settings)
        if data is not None:
            experiment = experiment_from_data(data, max_runs=svc.settings.max_experiment_runs)
    except ConfigError as e:
        st.error(e.message, icon=":material/error:")
    if experiment is None:
        return
    est = estimate(experiment, svc.prices, svc.settings.max_turns)
    st.info(f"{est.describe()}.", icon=":material/calculate:")
    if st.button("Start experiment", key="exp_start", type="primary", icon=":material/grid_view:"):
        try:
            record = control.submit(
                svc.store, experiment, viewer.username, max_runs=svc.settings.max_experiment_runs
            )
        except ConfigError as e:
            st.error(e.message, icon=":material/error:")
            return
        ensure_worker(svc)
        st.query_params["experiment"] = record.id
        st.query_params.pop("run", None)
        st.rerun()
