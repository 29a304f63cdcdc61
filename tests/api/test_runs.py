"""Runs over HTTP: start, list, read, patch, pause, resume, interject, stop, export."""

from __future__ import annotations

import csv
import io
import json

import pytest

from duet_core.models import RunConfig
from duet_core.providers.scripted import Hold
from duet_core.run.manager import RunManager
from duet_core.vocabulary import RunStatus
from tests.api.conftest import Api, data_events, read_until, run_config


def start(api: Api, client=None, **kw) -> str:
    client = client or api.client()
    r = client.post("/run", json=run_config(**kw))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "running"
    return r.json()["id"]


def wait_end(api: Api, run_id: str, client=None) -> list:
    client = client or api.client()
    with client.stream("GET", f"/stream/{run_id}") as r:
        return read_until(data_events(r.iter_lines()), "end")


def test_start_read_list_and_export(api: Api):
    api.scripted.enqueue("Maths is found.", "Maths is made.")
    run_id = start(api)
    events = wait_end(api, run_id)
    assert events[-2].data["status"] == "completed"

    doc = api.client().get(f"/run/{run_id}").json()
    assert doc["schema"] == "duet.transcript/1"
    assert doc["run"]["created_by"] == "alice"
    assert [t["content"] for t in doc["turns"]] == ["Maths is found.", "Maths is made."]

    page = api.client().get("/runs").json()
    assert page["total"] == 1 and page["items"][0]["id"] == run_id
    assert api.client().get("/runs", params={"status": "running"}).json()["total"] == 0
    assert api.client().get("/runs", params={"q": "maths"}).json()["total"] == 1

    c = api.client()
    as_json = c.get(f"/export/{run_id}.json")
    assert as_json.status_code == 200 and json.loads(as_json.text) == doc
    assert "attachment" in as_json.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(c.get(f"/export/{run_id}.csv").text)))
    assert [r["content"] for r in rows] == ["Maths is found.", "Maths is made."]
    assert c.get(f"/export/{run_id}.jsonl").headers["content-type"] == "application/x-ndjson"
    assert "Maths is made." in c.get(f"/export/{run_id}.md").text
    pdf = c.get(f"/export/{run_id}.pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content[:5] == b"%PDF-"
    assert c.get(f"/export/{run_id}.xls").status_code == 422


def test_spreadsheet_safe_csv(api: Api):
    api.scripted.enqueue("=1+1", "ok")
    run_id = start(api)
    wait_end(api, run_id)
    plain = api.client().get(f"/export/{run_id}.csv").text
    safe = api.client().get(f"/export/{run_id}.csv", params={"spreadsheet_safe": 1}).text
    assert ",=1+1," in plain and ",'=1+1," in safe


def test_patch_pause_resume_interject_stop(api: Api):
    hold = Hold()
    # Bob's turn streams until Stop closes it: the run cannot complete before the stop
    api.scripted.enqueue(["Let me think", hold, " more."], ["Bob starts", Hold()])
    run_id = start(api, turns=6)
    assert hold.reached.wait(5)
    c = api.client()

    r = c.patch(f"/run/{run_id}/bot/1", json={"temperature": 1.2, "max_tokens": 300})
    assert r.status_code == 200, r.text
    assert r.json()["temperature"] == 1.2 and r.json()["name"] == "Bob"

    assert c.post(f"/run/{run_id}/pause").json()["pause_requested"] is True
    r = c.post(f"/run/{run_id}/interject", json={"text": "Stay on topic."})
    assert r.status_code == 200
    with c.stream("GET", f"/stream/{run_id}") as stream:
        events = data_events(stream.iter_lines())
        # subscribed (the snapshot) while the turn is held: every later event reaches us
        seen = [next(events).data]
        assert seen[0]["type"] == "snapshot"
        hold.release()
        for e in events:
            seen.append(e.data)
            if e.type == "status" and e.data["status"] == "paused":
                break
        said = [d for d in seen if d["type"] == "interjection"]  # taken before the pause
        assert said[0]["content"] == "Stay on topic." and said[0]["bot_name"] == "alice"
        assert c.post(f"/run/{run_id}/resume").json()["pause_requested"] is False
        started = read_until(events, "turn_start")
        assert started[-1].data["bot_index"] == 1
        stop = c.post(f"/run/{run_id}/stop")
        assert stop.status_code == 200 and stop.json()["status"] == "stopped"
        rest = read_until(events, "end")
    assert rest[-2].data["status"] == "stopped"
    again = c.post(f"/run/{run_id}/stop")  # idempotent
    assert again.status_code == 200 and again.json()["status"] == "stopped"
    turn = api.store.get_run(run_id).turns[0]
    assert turn.content == "Let me think more."


def test_controls_on_an_ended_run_conflict(api: Api):
    run_id = start(api, turns=1)
    wait_end(api, run_id)
    c = api.client()
    for path, body in (
        ("pause", None),
        ("resume", None),
        ("interject", {"text": "hello"}),
    ):
        r = c.post(f"/run/{run_id}/{path}", json=body)
        assert r.status_code == 409, (path, r.text)
        assert "has ended" in r.json()["detail"]
    r = c.patch(f"/run/{run_id}/bot/0", json={"temperature": 1.0})
    assert r.status_code == 409


def test_bad_patches_name_the_field(api: Api):
    hold = Hold()
    api.scripted.enqueue(["Hello", hold])
    run_id = start(api, turns=4)
    assert hold.reached.wait(5)
    c = api.client()
    r = c.patch(f"/run/{run_id}/bot/0", json={"temperature": 7})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "temperature"]
    r = c.patch(f"/run/{run_id}/bot/0", json={"colour": "red"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "colour"]
    r = c.patch(f"/run/{run_id}/bot/2", json={"temperature": 1})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["path", "bot_index"]
    # a knob the model does not take: the core's check, one message naming the knob
    r = c.patch(
        f"/run/{run_id}/bot/0",
        json={"provider": "anthropic", "model": "claude-sonnet-5-5", "temperature": 0.5},
    )
    assert r.status_code == 422 and "temperature" in r.json()["detail"][0]["msg"]
    assert c.patch(f"/run/{run_id}/bot/0", json={}).json()["name"] == "Ada"
    hold.release()
    c.post(f"/run/{run_id}/stop")


def test_bad_bodies(api: Api):
    c = api.client()
    r = c.post("/run", json={"topic": "x", "bots": [{"name": "A"}]})
    assert r.status_code == 422
    assert any(e["loc"] == ["body", "bots"] for e in r.json()["detail"])
    r = c.post("/run", json={**run_config(), "max_turns": "many"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "max_turns"]
    bad_key = run_config()
    bad_key["bots"][0]["api_key"] = "sk-secret-0123456789"
    r = c.post("/run", json=bad_key)
    assert r.status_code == 422 and "sk-secret" not in r.text
    r = c.post("/run", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "json_invalid"
    r = c.post("/run", content=b"topic=x", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and "application/json" in r.json()["detail"]
    big = {**run_config(), "topic": "x" * 1_100_000}
    r = c.post("/run", json=big)
    assert r.status_code == 413 and "1 MB" in r.json()["detail"]

    def chunks():
        yield b'{"topic": "'
        for _ in range(11):
            yield b"y" * 100_000
        yield b'"}'

    r = c.post("/run", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_unknown_run_is_404(api: Api):
    c = api.client()
    for method, path in (
        ("GET", "/run/rnope"),
        ("GET", "/stream/rnope"),
        ("GET", "/export/rnope.json"),
        ("POST", "/run/rnope/stop"),
        ("PATCH", "/run/rnope/bot/0"),
    ):
        r = c.request(method, path, json={} if method == "PATCH" else None)
        assert r.status_code == 404, (method, path, r.text)
        assert "rnope" in r.json()["detail"]


def test_runs_status_filter_rejects_unknown(api: Api):
    r = api.client().get("/runs", params={"status": "sleeping"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "status", 0]


def test_limits(api: Api):
    api.services.settings.__dict__["max_active_runs"] = 1
    hold = Hold()
    api.scripted.enqueue(["Hi", hold])
    run_id = start(api, turns=3)
    assert hold.reached.wait(5)
    r = api.client("bob").post("/run", json=run_config())
    assert r.status_code == 503 and "limit is 1" in r.json()["detail"]
    api.client().post(f"/run/{run_id}/stop")  # closes the held stream
    assert api.services.manager.get(run_id).join(5)
    assert api.services.manager.get(run_id).status is RunStatus.STOPPED


@pytest.mark.parametrize("settings_overrides", [{"runs_per_minute": 2}])
def test_rate_limit_is_shared_with_runs_started_another_way(api: Api):
    """The limit counts runs in the database: one alice started from the command line (or
    another replica) counts against her API starts."""
    elsewhere = RunManager(api.store, api.services.settings, lambda bot, keys: api.scripted)
    cli_run = elsewhere.start(RunConfig.model_validate(run_config(turns=1)), "alice", None, False)
    assert cli_run.join(5)
    elsewhere.close()
    start(api, turns=1)
    r = api.client().post("/run", json=run_config(turns=1))
    assert r.status_code == 429
    assert "2 runs in the last minute" in r.json()["detail"]
    assert 1 <= int(r.headers["retry-after"]) <= 60
    start(api, client=api.client("bob"), turns=1)  # bob has his own allowance
