"""``POST /api/eval``, ``POST /api/votes``, ``POST /api/ratings`` and ``GET /api/leaderboard``
over real HTTP (uvicorn on 127.0.0.1; the judge's SDK at the local fake server)."""

from __future__ import annotations

import json

from duet_core.batch.experiment import experiment_from_data
from duet_core.models import BotConfig, RunStatus
from duet_core.store.experiments import ExperimentQueue
from tests.evals.conftest import RUBRIC, TURN_RUBRIC, answer, verdict
from tests.store.conftest import _bots, _make_run, _make_turn

SLOW = 60  # seconds: the first SDK request of a process builds its types (slow on a busy machine)
JUDGE = {"name": "civility", "bot": {"provider": "openai", "model": "gpt-4.1-mini"}}


def saved(store, owner: str = "alice", model: str = "gpt-4.1", turns: int = 2) -> str:
    configs = _bots()
    configs[1] = BotConfig(name="Bo", provider="openai", model=model)
    run = _make_run(owner=owner, status=RunStatus.COMPLETED, turns=turns, bot_configs=configs)
    store.create_run(run)
    return run.id


def test_judge_a_run_over_http_and_read_it_in_the_transcript(api):
    run_id = saved(api.store)
    api.fake.push(answer("openai", verdict(8, "Polite.")))
    body = {"run_id": run_id, "judge": {**JUDGE, "rubric_messages": RUBRIC}}
    r = api.client("alice").post("/eval", json=body, timeout=SLOW)
    assert r.status_code == 200, r.text
    result = r.json()
    assert (result["judge"], result["judged"], result["failed"]) == ("civility", 1, 0)
    (line,) = result["results"]
    assert (line["run_id"], line["turn"], line["score"], line["reason"]) == (
        run_id,
        None,
        8,
        "Polite.",
    )
    assert "Ada: Turn 0 from Ada." in json.dumps(api.fake.last.body)
    assert api.fake.last.body["response_format"]["type"] == "json_schema"

    transcript = api.client("alice").get(f"/run/{run_id}").json()
    (ev,) = transcript["evaluations"]
    assert (ev["judge"], ev["score"], ev["created_by"]) == ("civility", 8, "alice")
    exported = api.client("alice").get(f"/export/{run_id}.json").json()
    assert exported["evaluations"] == transcript["evaluations"]


def test_a_bad_answer_is_an_error_line_and_nothing_is_stored(api):
    run_id = saved(api.store, turns=2)
    api.fake.push(answer("openai", "no"), answer("openai", verdict(4)))
    body = {"run_id": run_id, "judge": {**JUDGE, "rubric_messages": TURN_RUBRIC, "per": "turn"}}
    result = api.client("alice").post("/eval", json=body, timeout=SLOW).json()
    assert (result["judged"], result["failed"]) == (1, 1)
    first, second = result["results"]
    assert first["turn"] == 0 and first["error"].startswith("The judge's answer is not valid JSON")
    assert second["turn"] == 1 and second["score"] == 4
    assert [e.turn for e in api.store.evaluations.for_run(run_id)] == [1]


def test_judging_asks_for_what_the_caller_may_see_and_a_valid_judge(api):
    run_id = saved(api.store, owner="alice")
    judge = {**JUDGE, "rubric_messages": RUBRIC}
    r = api.client("bob").post("/eval", json={"run_id": run_id, "judge": judge}, timeout=SLOW)
    assert r.status_code == 404 and api.fake.requests == []
    assert (
        api.client("root")
        .post("/eval", json={"run_id": "rnope", "judge": judge}, timeout=SLOW)
        .status_code
        == 404
    )

    for body, words in (  # a judge that cannot judge is invalid input: 422 naming it
        ({"judge": judge}, "give run_id (one run) or batch"),
        ({"run_id": run_id, "batch": "x1", "judge": judge}, "give run_id (one run) or batch"),
        ({"run_id": run_id, "judge": {**judge, "per": "turn"}}, "judging per turn needs"),
        ({"run_id": run_id, "judge": {**JUDGE}}, "give the rubric one way"),
        ({"run_id": run_id, "judge": {**JUDGE, "rubric": "nosuch@1"}}, "No saved template"),
    ):
        r = api.client("alice").post("/eval", json=body, timeout=SLOW)
        assert r.status_code == 422, (body, r.text)
        assert words in json.dumps(r.json()["detail"]), r.json()
    assert (
        api.client(None)
        .post("/eval", json={"run_id": run_id, "judge": judge}, timeout=SLOW)
        .status_code
        == 401
    )


def test_judge_every_run_of_an_experiment_over_http(api):
    queue = ExperimentQueue(api.store)
    exp = experiment_from_data(
        {
            "name": "e",
            "run": {"topic": "Ban cars?", "bots": [{"name": "A"}, {"name": "B"}]},
            "repeats": 3,
        }
    )
    record = queue.create(exp, "alice", concurrency=2)
    for run_id in queue.run_ids(record.id):
        run = api.store.get_run(run_id)
        api.store.save_turn(run_id, _make_turn(run, 0))
        api.store.set_status(run_id, RunStatus.COMPLETED)
    api.fake.push(*[answer("openai", verdict(6)) for _ in range(3)])
    body = {"batch": record.id, "judge": {**JUDGE, "rubric_messages": RUBRIC}}
    assert api.client("bob").post("/eval", json=body, timeout=SLOW).status_code == 404
    result = api.client("alice").post("/eval", json=body, timeout=SLOW).json()
    assert (result["judged"], result["failed"]) == (3, 0)
    assert sorted(x["run_id"] for x in result["results"]) == sorted(queue.run_ids(record.id))


def test_votes_ratings_and_the_leaderboard(api):
    big, small = saved(api.store, model="gpt-4.1"), saved(api.store, model="gpt-4o-mini")
    mini = saved(api.store, model="gpt-4.1-mini")
    bobs = saved(api.store, owner="bob", model="gpt-4o")
    alice = api.client("alice")
    r = alice.post("/votes", json={"run_a": big, "run_b": small, "winner": "a"})
    assert r.status_code == 201, r.text
    vote = r.json()
    assert (vote["bot_index"], vote["model_a"], vote["model_b"], vote["voter"]) == (
        1,
        "gpt-4.1",
        "gpt-4o-mini",
        "alice",
    )
    assert (
        alice.post("/votes", json={"run_a": mini, "run_b": small, "winner": "tie"}).status_code
        == 201
    )
    assert (
        alice.post("/votes", json={"run_a": big, "run_b": bobs, "winner": "a"}).status_code == 404
    )
    r = alice.post("/votes", json={"run_a": big, "run_b": small, "winner": "left"})
    assert r.status_code == 422
    r = alice.post("/votes", json={"run_a": big, "run_b": big, "winner": "a"})
    assert r.status_code == 422 and "two different runs" in r.text

    r = alice.get("/leaderboard", params={"rounds": 100})
    assert r.status_code == 200
    board = r.json()
    assert board[0]["name"] == "gpt-4.1"
    assert {s["name"]: (s["wins"], s["losses"], s["ties"]) for s in board} == {
        "gpt-4.1": (1, 0, 0),
        "gpt-4o-mini": (0, 1, 1),
        "gpt-4.1-mini": (0, 0, 1),
    }
    assert set(board[0]) == {"name", "rating", "ci_low", "ci_high", "wins", "losses", "ties"}
    assert alice.get("/leaderboard", params={"by": "persona"}).json() == []
    assert alice.get("/leaderboard", params={"batch": "xnope"}).status_code == 404
    assert alice.get("/leaderboard", params={"by": "size"}).status_code == 422

    r = alice.post("/ratings", json={"run_id": big, "turn": 1, "score": 9})
    assert r.status_code == 201 and r.json()["rater"] == "alice"
    assert alice.post("/ratings", json={"run_id": big, "turn": 1, "score": 11}).status_code == 422
    assert alice.post("/ratings", json={"run_id": bobs, "turn": 0, "score": 5}).status_code == 404
    r = alice.post("/ratings", json={"run_id": big, "turn": 7, "score": 5})
    assert r.status_code == 422 and "has no turn 7" in r.text
