"""The Experiments page under AppTest: a form built from the setup shows the runs and cost
before Start, the server's worker runs them, the results table per cell and the runs list;
pause, resume and cancel; a bad or too large experiment file is one message.

AppTest never fires ``run_every``: the tests follow the experiment through the store and
rerun the page to see it."""

from __future__ import annotations

import pytest

from duet_core.batch import app_worker, control
from duet_core.batch.experiment import experiment_from_data
from duet_ui.experiments import new as new_module
from duet_ui.experiments import progress as progress_module
from duet_ui.shell.services import services
from tests.waiting import wait_for

DEMO_BOTS = [
    {"name": "Ada", "provider": "demo", "model": "duet-demo"},
    {"name": "Bo", "provider": "demo", "model": "duet-demo"},
]


def no_traceback(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_the_form_shows_runs_and_cost_then_the_experiment_runs(logged_in):
    at = logged_in("alice", "experiments")
    no_traceback(at)
    assert any("No experiments yet" in i.value for i in at.info)
    at.text_area(key="exp_topics").set_value("Ban cars?\nTax meat?").run()
    at.number_input(key="exp_repeats").set_value(2).run()
    at.text_input(key="exp_temps").set_value("0.2, 1.0").run()
    no_traceback(at)
    assert any(i.value.startswith("8 runs,") for i in at.info)  # 2 topics x 2 temperatures x 2
    at.button(key="exp_start").click().run()
    no_traceback(at)
    exp_id = at.query_params["experiment"]
    exp_id = exp_id if isinstance(exp_id, str) else exp_id[0]
    svc = services()
    wait_for(lambda: control.progress(svc.store, exp_id).done == 8, what="8 runs done")
    at.run()
    no_traceback(at)
    cells, runs = at.dataframe[0].value, at.dataframe[1].value
    assert list(cells["topic"]) == ["Ban cars?", "Ban cars?", "Tax meat?", "Tax meat?"]
    assert list(cells["bots[0].temperature"]) == ["0.2", "1.0", "0.2", "1.0"]
    assert list(cells["runs"]) == [2, 2, 2, 2]
    assert len(runs) == 8 and set(runs["status"]) == {"completed"}
    configs = [svc.store.get_run(r).config for r in runs["run"]]
    assert [c.bots[0].temperature for c in configs] == [0.2, 0.2, 1.0, 1.0] * 2


def test_pause_resume_and_cancel_from_the_page(logged_in, monkeypatch):
    for module in (app_worker, new_module, progress_module):  # no worker: nothing starts
        monkeypatch.setattr(module, "ensure_worker", lambda svc: None)
    svc = services()
    data = {"name": "held", "run": {"topic": "t", "bots": DEMO_BOTS}, "repeats": 3}
    record = control.submit(svc.store, experiment_from_data(data), "alice")
    at = logged_in("alice", "experiments")
    no_traceback(at)
    assert at.button(key="exp_resume").disabled and not at.button(key="exp_pause").disabled
    at.button(key="exp_pause").click().run()
    no_traceback(at)
    assert control.progress(svc.store, record.id).status.value == "paused"
    assert at.button(key="exp_pause").disabled and not at.button(key="exp_resume").disabled
    at.button(key="exp_resume").click().run()
    assert control.progress(svc.store, record.id).status.value == "active"
    at.button(key="exp_cancel").click().run()
    no_traceback(at)
    p = control.progress(svc.store, record.id)
    assert (p.status.value, p.stopped, p.queued) == ("cancelled", 3, 0)
    assert at.button(key="exp_cancel").disabled


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("name: x\nrun: [1, 2", "YAML"),
        ("name: x\nrun: {topic: t, bots: []}", "bots"),
        ("name: x\nrun: {topic: t}\nrepeats: 5000", "DUET_MAX_EXPERIMENT_RUNS"),
    ],
)
def test_a_bad_experiment_file_is_one_message(logged_in, text, words):
    at = logged_in("alice", "experiments")
    at.segmented_control(key="exp_source").set_value("File").run()
    at.text_area(key="exp_text").set_value(text).run()
    no_traceback(at)
    assert [e.value for e in at.error] and words in at.error[0].value
    assert not [b for b in at.button if b.key == "exp_start"]  # nothing to start


def test_history_filters_by_experiment(logged_in, seed, monkeypatch):
    for module in (app_worker, new_module, progress_module):  # the runs stay queued
        monkeypatch.setattr(module, "ensure_worker", lambda svc: None)
    svc = services()
    data = {"name": "two", "run": {"topic": "Sweep topic", "bots": DEMO_BOTS}, "repeats": 2}
    record = control.submit(svc.store, experiment_from_data(data), "alice")
    seed("alice", topic="A run of its own")
    at = logged_in("alice", "history")
    assert len(at.dataframe[0].value) == 3
    at.query_params["experiment"] = record.id
    at.run()
    no_traceback(at)
    runs_of_it = {r.id for r in control.run_results(svc.store, record.id)}
    assert len(runs_of_it) == 2 and set(at.dataframe[0].value["run"]) == runs_of_it
    at.button(key="all_experiments").click().run()
    assert len(at.dataframe[0].value) == 3
