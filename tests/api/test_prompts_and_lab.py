"""The prompt library, the playground and the Prompt Lab over HTTP; the Lab and the playground
write nothing to the database (every table compared before and after)."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from sqlalchemy import inspect

from tests.api.conftest import GPT, Api, data_events, read_until, run_config
from tests.providers.provider_fakes import openai_stream

CRITIC = [
    {"role": "system", "content": "You are a {{ mood }} critic of {{ topic }}."},
    {"role": "human", "content": "Review {{ thing }}."},
]


def tables(api: Api) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (search index shadow tables included)."""
    engine = api.store.engine
    names = inspect(engine).get_table_names()
    with engine.connect() as conn:
        out = {}
        for name in names:
            rows = conn.exec_driver_sql(f'SELECT * FROM "{name}"').all()
            out[name] = sorted(map(repr, rows))
    return out


def lab_events(client, path: str, body: dict) -> list[dict]:
    with client.stream("POST", path, json=body) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["x-accel-buffering"] == "no"
        events = list(data_events(r.iter_lines()))
    assert all(e.event is None for e in events)  # data: lines only, as the Lab's clients read
    return [e.data for e in events]


def test_versions_201_200_422(api: Api):
    c = api.client("alice")
    r = c.post("/prompts/critic/versions", json={"messages": CRITIC, "note": "first"})
    assert r.status_code == 201 and r.json()["version"] == 1 and r.json()["author"] == "alice"
    again = c.post("/prompts/critic/versions", json={"messages": CRITIC})
    assert again.status_code == 200 and again.json()["version"] == 1
    changed = [*CRITIC, {"role": "ai", "content": "Hm."}]
    assert c.post("/prompts/critic/versions", json={"messages": changed}).json()["version"] == 2
    assert len(api.store.prompts.history("critic")) == 2

    r = c.post("/prompts/critic/versions", json={"messages": []})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "messages"]
    r = c.post("/prompts/critic/versions", json={"messages": [{"role": "bot", "content": "x"}]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "messages", 0, "role"]
    bad = [{"role": "system", "content": "You are {{ name"}]
    r = c.post("/prompts/critic/versions", json={"messages": bad})
    assert r.status_code == 422 and "{{ name" in r.json()["detail"][0]["msg"]
    r = c.post("/prompts/no%20spaces/versions", json={"messages": CRITIC})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["path", "name"]

    listed = c.get("/prompts").json()
    assert [(p["name"], p["version"]) for p in listed] == [("critic", 2)]
    assert c.get("/prompts/critic").json()["version"] == 2
    assert c.get("/prompts/critic", params={"version": 1}).json()["messages"] == CRITIC
    r = c.get("/prompts/critic", params={"version": 9})
    assert r.status_code == 404 and "no version 9" in r.json()["detail"]
    assert c.get("/prompts/nothing").status_code == 404

    r = c.post("/prompts/critic/render", json={"version": 1, "variables": {"mood": "kind"}})
    assert r.json() == {
        "messages": [
            {"role": "system", "content": "You are a kind critic of ."},
            {"role": "human", "content": "Review ."},
        ],
        "missing": ["topic", "thing"],
    }
    assert c.post("/prompts/nothing/render", json={}).status_code == 404


def test_playground_streams_a_reply_and_writes_nothing(api: Api):
    c = api.client("bob")
    c.post("/prompts/critic/versions", json={"messages": CRITIC})
    api.fake.push(openai_stream(text=["Four ", "stars."]))
    before = tables(api)
    body = {
        "bot": {"name": "Critic", **GPT},
        "prompt": {"name": "critic"},
        "variables": {"mood": "grumpy", "topic": "films", "thing": "Alien"},
    }
    events = lab_events(c, "/playground", body)
    assert tables(api) == before
    assert [kind for kind, _ in groupby(e["type"] for e in events)] == ["text", "done"]
    turn = events[-1]["turn"]
    assert turn["content"] == "Four stars." == "".join(e["content"] for e in events[:-1])
    assert turn["prompt"]["name"] == "critic" and turn["prompt"]["version"] == 1
    sent = api.fake.last.body["messages"]
    assert sent == [
        {"role": "system", "content": "You are a grumpy critic of films."},
        {"role": "user", "content": "Review Alien."},
    ]
    api.scripted.enqueue("Inline reply.")
    inline = {"bot": {"name": "Demo"}, "messages": CRITIC, "variables": {"thing": [1, 2]}}
    events = lab_events(c, "/playground", inline)
    assert events[-1]["turn"]["content"] == "Inline reply."
    assert api.scripted.calls[-1].messages == [{"role": "user", "content": "Review [1, 2]."}]
    assert tables(api) == before


def test_playground_refuses_both_or_neither(api: Api):
    c = api.client()
    both = {"bot": {}, "messages": CRITIC, "prompt": {"name": "critic"}}
    r = c.post("/playground", json=both)
    assert r.status_code == 422 and "messages and prompt" in r.json()["detail"][0]["msg"]
    r = c.post("/playground", json={"bot": {}})
    assert r.status_code == 422 and "messages" in r.json()["detail"][0]["msg"]
    r = c.post("/playground", json={"bot": {}, "prompt": {"name": "nothing"}})
    assert r.status_code == 404
    r = c.post("/playground", json={"bot": {"temperature": 9}, "messages": CRITIC})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][:3] == [
        "body",
        "bot",
        "temperature",
    ]
    only_system = {"bot": {}, "messages": CRITIC[:1]}
    r = c.post("/playground", json=only_system)
    assert r.status_code == 422 and "human message" in r.json()["detail"][0]["msg"]


def test_fixtures(api: Api):
    c = api.client("fran")
    listed = c.get("/promptlab/fixtures").json()
    names = [f["name"] for f in listed]
    assert "cars-in-cities-demo.json" in names and all(f["turns"] > 0 for f in listed)
    doc = c.get("/promptlab/fixtures/cars-in-cities-demo").json()
    assert doc["schema"] == "duet.transcript/1" and len(doc["turns"]) == 4
    assert c.get("/promptlab/fixtures/cars-in-cities-demo.json").json() == doc
    assert c.get("/promptlab/fixtures/nothing").status_code == 404
    assert c.get("/promptlab/fixtures/..%2Fsecrets").status_code == 404


def recorded_run(api: Api) -> str:
    """A run between two GPT bots, through OpenAI's SDK at the fake server."""
    api.fake.push(openai_stream(text=["Tea ", "wins."]), openai_stream(text=["Coffee."]))
    r = api.client("fran").post("/run", json=run_config(turns=2, **GPT))
    run_id = r.json()["id"]
    with api.client("fran").stream("GET", f"/stream/{run_id}") as s:
        read_until(data_events(s.iter_lines()), "end")
    return run_id


def test_regenerate_replays_the_turn_and_writes_nothing(api: Api):
    run_id = recorded_run(api)
    original = api.fake.requests[1].body["messages"]
    api.fake.push(openai_stream(text=["Again ", "A."]), openai_stream(text=["Again B."]))
    before = tables(api)  # (fran's token was used by recorded_run: no last_used write now)
    body = {"source": run_id, "turn": 1, "set": {"temperature": 1.5}, "variants": 2}
    events = lab_events(api.client("fran"), "/promptlab/regenerate", body)
    assert tables(api) == before
    done = sorted((e for e in events if e["type"] == "done"), key=lambda e: e["variant"])
    assert [e["variant"] for e in done] == [0, 1]
    for e in done:
        text = "".join(
            x["content"] for x in events if x["type"] == "text" and x["variant"] == e["variant"]
        )
        assert text == e["turn"]["content"]
        assert e["turn"]["index"] == 1 and e["turn"]["bot_index"] == 1
    for request in api.fake.requests[2:]:
        assert request.body["messages"] == original  # byte for byte what turn 1 saw
        assert request.body["temperature"] == 1.5


def test_save_branch_and_continue_with_a_message(api: Api):
    run_id = recorded_run(api)
    api.fake.push(openai_stream(text=["A branch."]))
    body = {"source": run_id, "turn": 1, "save_branch": True}
    events = lab_events(api.client("fran"), "/promptlab/regenerate", body)
    assert events[-1]["type"] == "branch"
    branch_id = events[-1]["run_id"]
    doc = api.client("fran").get(f"/run/{branch_id}").json()
    assert doc["run"]["parent_id"] == run_id and doc["run"]["fork_turn"] == 1
    assert [t["content"] for t in doc["turns"]] == ["Tea wins.", "A branch."]

    api.scripted.enqueue("Cars out, trams in.")
    root = api.client("root")
    root.get("/runs")  # the token's first use is recorded now (then at most once a minute)
    before = tables(api)
    body = {"source": "cars-in-cities-demo", "user_message": "What about trams?"}
    events = lab_events(root, "/promptlab/continue", body)
    assert tables(api) == before
    assert events[-1]["type"] == "done"
    assert events[-1]["turn"]["content"] == "Cars out, trams in."
    last = api.scripted.calls[-1].messages[-1]  # the partner's turn, then the person's
    assert last["role"] == "user" and last["content"].endswith("\n\nWhat about trams?")
    transcript = root.get("/promptlab/fixtures/cars-in-cities-demo").json()
    api.scripted.enqueue("From an object.")
    events = lab_events(root, "/promptlab/continue", {"source": transcript})
    assert events[-1]["turn"]["index"] == len(transcript["turns"])


def test_lab_bad_input(api: Api):
    run_id = recorded_run(api)
    c = api.client("fran")
    r = c.post("/promptlab/regenerate", json={"source": run_id, "turn": 7})
    assert r.status_code == 422 and "No turn 7" in r.json()["detail"][0]["msg"]
    r = c.post("/promptlab/regenerate", json={"source": run_id, "turn": 1, "set": {"top_k": 3}})
    assert r.status_code == 422 and "top_k" in r.json()["detail"][0]["msg"]
    r = c.post(
        "/promptlab/regenerate", json={"source": run_id, "turn": 1, "set": {"temperature": 5}}
    )
    assert r.status_code == 422 and "temperature" in r.json()["detail"][0]["msg"]
    r = c.post("/promptlab/regenerate", json={"source": run_id, "turn": 1, "variants": 5})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "variants"]
    r = c.post("/promptlab/continue", json={"source": {"schema": "nope"}})
    assert r.status_code == 422 and "transcript" in r.json()["detail"][0]["msg"]
    r = c.post("/promptlab/continue", json={"source": "rnotarun"})
    assert r.status_code == 404
    alices = api.client("alice").post("/run", json=run_config(turns=1)).json()["id"]
    r = c.post("/promptlab/continue", json={"source": alices})  # fran may not see it
    assert r.status_code == 404


def test_many_conversations_stream_with_a_summary_and_write_nothing(api: Api):
    run_id = recorded_run(api)
    api.fake.push(openai_stream(text=["Again."]))
    api.scripted.enqueue("Fixture again.")
    before = tables(api)
    body = {
        "sources": [run_id, "cars-in-cities-demo"],
        "action": "regenerate",
        "turn": 1,
        "set": {"max_tokens": 99},
    }
    events = lab_events(api.client("fran"), "/promptlab/many", body)
    assert tables(api) == before
    done = {e["variant"]: e["turn"] for e in events if e["type"] == "done"}
    assert sorted(done) == [0, 1] and {t["index"] for t in done.values()} == {1}
    assert done[0]["content"] == "Again."
    assert api.fake.requests[-1].body["max_completion_tokens"] == 99
    summary = events[-1]
    assert summary["type"] == "summary"
    assert [r["source"] for r in summary["rows"]][-1] == "All (2)"
    assert summary["rows"][-1]["status"] == "2 done"

    c = api.client("fran")
    r = c.post("/promptlab/many", json={"sources": [run_id], "turn": 9})
    assert r.status_code == 422 and "None of the conversations can be asked" in r.text
    copies = [c.get("/promptlab/fixtures/cars-in-cities-demo").json() for _ in range(11)]
    for i, doc in enumerate(copies):  # eleven different transcripts
        doc["run"]["id"] = f"copy{i}"
    r = c.post("/promptlab/many", json={"sources": copies, "turn": 1})
    assert r.status_code == 422
    assert "11 conversations picked: the Lab runs up to 10 at once. Pick 1 fewer." in r.text
