"""Experiments over HTTP: submit, status, results per cell, pause, resume, cancel, the
per-person ceiling on an experiment's size, and who may see what. The server's own worker runs
the queued runs on the scripted provider."""

from __future__ import annotations

from typing import Any

import pytest

from duet_core.providers.scripted import Hold
from tests.api.conftest import Api, run_config
from tests.waiting import wait_for


def experiment(repeats: int = 2, concurrency: int = 4, **more: Any) -> dict[str, Any]:
    return {
        "name": "temperature sweep",
        "run": run_config(turns=2),
        "vary": {"bots[0].temperature": [0.2, 1.0]},
        "repeats": repeats,
        "concurrency": concurrency,
        **more,
    }


def status(client, batch_id: str) -> dict[str, Any]:
    r = client.get(f"/batch/{batch_id}")
    assert r.status_code == 200, r.text
    return r.json()


def test_an_experiment_runs_every_cell_with_its_settings(api: Api):
    c = api.client()
    r = c.post("/batch", json=experiment())
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["runs"] == 4 and body["estimate"]["runs"] == 4 and body["estimate"]["turns"] == 8
    done = wait_for(lambda: (s := status(c, body["id"]))["done"] == 4 and s, what="4 runs done")
    assert (done["queued"], done["running"], done["failed"], done["name"]) == (
        0,
        0,
        0,
        "temperature sweep",
    )
    cells = c.get(f"/batch/{body['id']}/results").json()
    assert [cell["cell"] for cell in cells] == [
        {"bots[0].temperature": 0.2},
        {"bots[0].temperature": 1.0},
    ]
    assert [(cell["runs"], cell["turns"]) for cell in cells] == [(2, 4), (2, 4)]
    assert all(cell["stop_reasons"] == {"max_turns": 2} for cell in cells)
    # each run used its cell's temperature (as the provider got it)
    ada = sorted(call.bot.temperature for call in api.scripted.calls if call.bot.name == "Ada")
    assert ada == [0.2, 0.2, 1.0, 1.0]
    run_id = cells[1]["run_ids"][0]
    assert api.store.get_run(run_id).config.bots[0].temperature == 1.0


@pytest.mark.parametrize("settings_overrides", [{"max_experiment_runs": 3}])
def test_an_experiment_over_the_ceiling_is_refused_and_nothing_is_queued(api: Api):
    r = api.client().post("/batch", json=experiment(repeats=2))
    assert r.status_code == 422
    (problem,) = r.json()["detail"]
    assert "4 runs" in problem["msg"] and "at most 3" in problem["msg"]
    assert "DUET_MAX_EXPERIMENT_RUNS" in problem["msg"]
    assert api.client().get("/runs").json()["total"] == 0
    assert api.client().post("/batch", json=experiment(repeats=1)).status_code == 201


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"vary": {"bots[0].colour": ["red"]}}, "unknown field"),
        ({"vary": {"bots[0].temperature": [9.0]}}, "temperature"),
        ({"vary": {"bots[0].temperature": []}}, "empty"),
        ({"run": None, "base": "examples/demo.yaml"}, "inline"),
        ({"repeats": 0}, "repeats"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_a_bad_experiment_is_one_clear_422(api: Api, change, words):
    r = api.client().post("/batch", json={**experiment(), **change})
    assert r.status_code == 422, r.text
    assert words in " ".join(str(d["msg"]) + str(d["loc"]) for d in r.json()["detail"])
    assert api.client().get("/runs").json()["total"] == 0


def test_another_persons_experiment_reads_as_missing(api: Api):
    batch_id = api.client("alice").post("/batch", json=experiment(repeats=1)).json()["id"]
    for path in (f"/batch/{batch_id}", f"/batch/{batch_id}/results"):
        assert api.client("bob").get(path).status_code == 404
        assert api.client("root").get(path).status_code == 200  # an admin sees every one
    assert api.client("bob").post(f"/batch/{batch_id}/cancel").status_code == 404
    assert api.client(None).get(f"/batch/{batch_id}").status_code == 401
    assert api.client().get("/batch/xnothing").status_code == 404


def test_pause_resume_and_cancel(api: Api):
    held = Hold()
    api.scripted.enqueue(["Held", held])
    c = api.client()
    batch_id = c.post("/batch", json=experiment(repeats=2, concurrency=1)).json()["id"]
    assert held.reached.wait(10)
    paused = c.post(f"/batch/{batch_id}/pause")
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    held.release()
    # the running run finishes; nothing else starts while paused
    after = wait_for(lambda: (s := status(c, batch_id))["done"] == 1 and s, what="one run done")
    assert (after["queued"], after["running"]) == (3, 0)

    held_again = Hold()
    api.scripted.enqueue(["Again", held_again])
    resumed = c.post(f"/batch/{batch_id}/resume", json={"budget_usd": 10.0})
    assert resumed.status_code == 200
    assert resumed.json()["status"] == "active" and resumed.json()["budget_usd"] == 10.0
    assert held_again.reached.wait(10)  # the second run started, and is held

    cancelled = c.post(f"/batch/{batch_id}/cancel").json()
    assert cancelled["status"] == "cancelled" and cancelled["queued"] == 0
    final = wait_for(lambda: (s := status(c, batch_id))["running"] == 0 and s, what="all ended")
    assert (final["done"], final["stopped"]) == (1, 3)  # the held run stopped, two never ran
    again = c.post(f"/batch/{batch_id}/resume")
    assert again.status_code == 422 and "ended" in again.json()["detail"][0]["msg"]
