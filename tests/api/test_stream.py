"""GET /api/stream/{id}: order, exactness, reconnects, keepalives, stop, PATCH mid-run."""

from __future__ import annotations

import time

import pytest

from duet_core.models import Run, RunConfig, Turn
from duet_core.providers.base import ThinkingDelta
from duet_core.providers.scripted import Hold
from tests.api.conftest import GPT, Api, data_events, read_until, run_config, sse_events
from tests.providers.provider_fakes import openai_stream


def start(api: Api, config: dict) -> str:
    r = api.client().post("/run", json=config)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_order_and_exactness(api: Api):
    hold = Hold()
    api.scripted.enqueue(
        [hold, ThinkingDelta("Hmm, "), ThinkingDelta("maths."), "Numbers are ", "found, not made."],
        "They are made.",
    )
    run_id = start(api, run_config(turns=2))
    assert hold.reached.wait(5)
    with api.client().stream("GET", f"/stream/{run_id}") as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["x-accel-buffering"] == "no"
        hold_released = False
        events = []
        for e in data_events(r.iter_lines()):
            events.append(e)
            if not hold_released:
                hold.release()
                hold_released = True
            if e.type == "end":
                break
    types = [e.type for e in events]
    assert types[0] == "snapshot" and types[-2:] == ["status", "end"]
    assert all(e.event == e.type for e in events)
    assert [int(e.id) for e in events] == list(range(1, len(events) + 1))
    snap = events[0].data
    assert snap["partial"] == {"index": 0, "bot_index": 0, "content": "", "thinking": ""}
    assert snap["transcript"]["run"]["status"] == "running"
    assert types[1:].count("turn_start") == 1  # turn 0 had started before the snapshot
    saved = api.store.get_run(run_id)
    for turn in saved.turns:
        tokens = [e.data for e in events if e.type == "token" and e.data["turn"] == turn.index]
        assert "".join(t["delta"] for t in tokens) == turn.content
        assert {t["role"] for t in tokens} == {f"bot{turn.bot_index}"}
        done = next(
            e.data for e in events if e.type == "turn_complete" and e.data["turn"] == turn.index
        )
        assert done["content"] == turn.content and done["index"] == turn.index
    thinking = "".join(e.data["delta"] for e in events if e.type == "thinking")
    assert thinking == saved.turns[0].thinking == "Hmm, maths."
    start1 = next(e.data for e in events if e.type == "turn_start")
    assert start1 == {
        "type": "turn_start",
        "turn": 1,
        "bot_index": 1,
        "bot_name": "Bob",
        "model": "duet-demo",
    }
    assert events[-2].data == {
        "type": "status",
        "status": "completed",
        "stop_reason": "max_turns",
        "error": None,
    }


def test_reconnect_mid_turn_loses_and_doubles_nothing(api: Api):
    before, hold = Hold(), Hold()
    api.scripted.enqueue([before, "One ", "two ", hold, "three ", "four."])
    run_id = start(api, run_config(turns=1))
    assert before.reached.wait(5)
    with api.client().stream("GET", f"/stream/{run_id}") as r:
        events = data_events(r.iter_lines())
        assert next(events).type == "snapshot"
        before.release()
        for e in events:
            if e.type == "token" and e.data["delta"] == "two ":
                break
    assert hold.reached.wait(5)
    with api.client().stream("GET", f"/stream/{run_id}") as r:
        events = data_events(r.iter_lines())
        snap = next(events)
        assert snap.type == "snapshot" and snap.id == "1"
        assert snap.data["partial"]["content"] == "One two "
        hold.release()
        rest = read_until(events, "end")
    tokens = "".join(e.data["delta"] for e in rest if e.type == "token")
    content = api.store.get_run(run_id).turns[0].content
    assert snap.data["partial"]["content"] + tokens == content == "One two three four."


def test_a_finished_run_is_snapshot_status_end(api: Api):
    api.scripted.enqueue("Done.")
    run_id = start(api, run_config(turns=1))
    assert api.services.manager.get(run_id).join(5)
    for _ in range(2):  # live object in this process, then read from the database
        with api.client().stream("GET", f"/stream/{run_id}") as r:
            events = list(data_events(r.iter_lines()))
        assert [e.type for e in events] == ["snapshot", "status", "end"]
        assert events[0].data["transcript"]["turns"][0]["content"] == "Done."
        api.services.manager._runs.pop(run_id, None)  # as after a restart


@pytest.mark.parametrize("settings_overrides", [{"sse_keepalive": 0.2}])
def test_keepalive_when_quiet(api: Api):
    hold = Hold()
    api.scripted.enqueue(["Wait", hold])
    run_id = start(api, run_config(turns=1))
    with api.client().stream("GET", f"/stream/{run_id}") as r:
        seen = []
        for e in sse_events(r.iter_lines()):
            seen.append(e.comment or e.type)
            if e.comment == "keepalive":
                break
    assert seen[0] == "duet" and "snapshot" in seen
    api.client().post(f"/run/{run_id}/stop")


def test_stop_ends_the_stream_within_a_second(api: Api):
    hold = Hold()
    api.scripted.enqueue(["Going on and on", hold])
    run_id = start(api, run_config(turns=4))
    assert hold.reached.wait(5)
    with api.client().stream("GET", f"/stream/{run_id}") as r:
        events = data_events(r.iter_lines())
        assert next(events).type == "snapshot"
        began = time.monotonic()
        api.client().post(f"/run/{run_id}/stop")
        rest = read_until(events, "end")
        took = time.monotonic() - began
    assert took < 1.0, took
    assert rest[-2].data["status"] == "stopped" and rest[-2].data["stop_reason"] == "user"
    assert api.store.get_run(run_id).turns[0].content == "Going on and on"


def test_patch_reaches_the_bots_next_request(api: Api):
    """Ada (scripted) holds her turn; Bob (OpenAI's SDK at the fake server) is patched
    meanwhile; his request carries the new settings, and the stream says so."""
    hold = Hold()
    api.scripted.enqueue(["Ada speaks", hold, "."])
    api.fake.push(openai_stream(text=["Bob ", "answers."]))
    config = run_config(turns=2)
    config["bots"][1].update(GPT)
    run_id = start(api, config)
    assert hold.reached.wait(5)
    with api.client().stream("GET", f"/stream/{run_id}") as r:
        events = data_events(r.iter_lines())
        assert next(events).type == "snapshot"
        patched = api.client("alice").patch(
            f"/run/{run_id}/bot/1", json={"temperature": 1.3, "max_tokens": 77}
        )
        assert patched.status_code == 200, patched.text
        updated = read_until(events, "bot_updated")[-1].data
        assert updated["bot_index"] == 1
        assert updated["changes"] == {"temperature": 1.3, "max_tokens": 77}
        hold.release()
        rest = read_until(events, "end")
    body = api.fake.requests[0].body
    assert body["temperature"] == 1.3 and body["max_completion_tokens"] == 77
    tokens = "".join(e.data["delta"] for e in rest if e.type == "token" and e.data["turn"] == 1)
    saved = api.store.get_run(run_id).turns[1]
    assert tokens == saved.content == "Bob answers."
    assert saved.config.temperature == 1.3


def test_a_run_live_in_another_process_is_read_from_the_database(api: Api):
    config = RunConfig.model_validate(run_config(turns=2))
    run = Run(owner="alice", config=config)
    api.store.create_run(run, "another-process", 30)
    c = api.client()
    for path in ("stop", "pause", "resume"):
        r = c.post(f"/run/{run.id}/{path}")
        assert r.status_code == 409 and "another Duet process" in r.json()["detail"]
    assert c.patch(f"/run/{run.id}/bot/0", json={"temperature": 1}).status_code == 409
    with c.stream("GET", f"/stream/{run.id}") as r:
        events = data_events(r.iter_lines())
        assert next(events).data["transcript"]["run"]["status"] == "running"
        turn = Turn(index=0, bot_index=0, bot_name="Ada", content="Saved elsewhere.")
        api.store.save_turn(run.id, turn)
        done = next(events)
        assert done.type == "turn_complete" and done.data["content"] == "Saved elsewhere."
        api.store.set_status(run.id, "completed", "max_turns")
        assert [e.type for e in events] == ["status", "end"]


def test_readers_of_one_run_get_the_same_events(api: Api):
    """Each event is encoded once and shared by the run's readers: every reader still gets
    all of them, numbered on its own connection."""
    hold = Hold()
    api.scripted.enqueue([hold, "Shared ", "words ", "for ", "all."], "And more.")
    run_id = start(api, run_config(turns=2))
    assert hold.reached.wait(5)
    streams = [api.client().stream("GET", f"/stream/{run_id}") for _ in range(3)]
    readers = [data_events(s.__enter__().iter_lines()) for s in streams]
    firsts = [next(r) for r in readers]  # all three subscribed, at the same point
    assert {f.type for f in firsts} == {"snapshot"}
    hold.release()
    seen = [[(e.id, e.data) for e in read_until(r, "end")] for r in readers]
    for s in streams:
        s.__exit__(None, None, None)
    assert seen[0] == seen[1] == seen[2]
    tokens = "".join(d["delta"] for _, d in seen[0] if d["type"] == "token")
    assert tokens == "Shared words for all.And more."
