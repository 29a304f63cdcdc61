"""Judges through the real SDKs at the local fake server: the request holds the rendered rubric
with the transcript and asks for JSON; a good answer is stored and exported; a bad answer or a
provider error is one line and nothing is stored; per-turn judging covers every turn."""

from __future__ import annotations

import json
import threading

import pytest

from duet_core.batch.experiment import experiment_from_data
from duet_core.errors import ConfigError, NotFound
from duet_core.evals.judge import judge_from_data, resolve, transcript_text
from duet_core.evals.judging import judge_experiment, judge_runs
from duet_core.evals.verdict import reply_schema
from duet_core.exports.transcript import transcript_dict, transcript_from_json, transcript_json
from duet_core.models import RunStatus
from duet_core.providers.base import ChunkStream, Finish, Provider, TextDelta, Usage
from duet_core.store.experiments import ExperimentQueue
from tests.evals.conftest import JUDGES, RUBRIC, TURN_RUBRIC, answer, verdict
from tests.providers.provider_fakes import anthropic_error, openai_error
from tests.store.conftest import _make_turn

PRICES = {"gpt-4.1-mini": (1.0, 2.0), "claude-sonnet-5-5": (3.0, 15.0)}


def make_judge(fmt: str, library=None, **kw):
    data = {"bot": JUDGES[fmt].model_dump(exclude_none=True), "rubric_messages": RUBRIC, **kw}
    return resolve(judge_from_data(data), library)


@pytest.mark.parametrize("fmt", ["openai", "anthropic"])
def test_a_judged_run_is_stored_with_its_request_and_exported(
    fmt, fake, provider_for, sqlite_store, saved_run
):
    run = saved_run(turns=3)
    fake.push(answer(fmt, verdict(7)))
    judge = make_judge(fmt, name="civility")

    outcomes = list(
        judge_runs(sqlite_store, [run.id], judge, provider_for, prices=PRICES, who="alice")
    )

    assert [o.error for o in outcomes] == [None]
    body = fake.last.body
    sent = json.dumps(body)
    assert "Ada: Turn 0 from Ada." in sent and "Bo: Turn 1 from Bo." in sent
    assert "You judge debates on Is a hot dog a sandwich?" in sent
    assert "duet-demo" not in sent  # the judge is not told which model spoke
    if fmt == "openai":
        assert body["messages"][0]["role"] == "system"
        assert "Answer with one JSON object" in body["messages"][0]["content"]
        assert body["messages"][1]["content"].startswith("The conversation:\n\nAda: Turn 0")
        assert body["response_format"] == {
            "type": "json_schema",
            "json_schema": {"name": "reply", "schema": reply_schema(), "strict": True},
        }
    else:
        assert "Answer with one JSON object" in body["system"]
        assert body["messages"][0]["content"].startswith("The conversation:\n\nAda: Turn 0")
        assert body["output_config"] == {
            "format": {"type": "json_schema", "schema": reply_schema()}
        }

    (saved,) = sqlite_store.evaluations.for_run(run.id)
    assert (saved.judge, saved.per, saved.turn, saved.score) == ("civility", "run", None, 7)
    assert saved.reason == "Clear and civil."
    assert (saved.provider, saved.model, saved.created_by) == (fmt, JUDGES[fmt].model, "alice")
    in_price, out_price = PRICES[JUDGES[fmt].model]
    assert saved.cost_usd == pytest.approx((50 * in_price + 10 * out_price) / 1e6)
    assert saved.request["messages"][-1]["content"] == (
        f"The conversation:\n\n{transcript_text(run)}\n\nHow good was it?"
    )
    assert saved.request["answer"] == verdict(7)

    exported = transcript_dict(sqlite_store.get_run(run.id))
    (ev,) = exported["evaluations"]
    assert ev["judge"] == "civility" and ev["score"] == 7 and ev["turn"] is None
    assert ev["model"] == JUDGES[fmt].model and ev["created_at"].endswith("+00:00")
    assert "request" not in ev
    again = transcript_from_json(transcript_json(sqlite_store.get_run(run.id)))
    assert [e.score for e in again.evaluations] == [7]


BAD_ANSWERS = [
    ("not json", "The judge's answer is not valid JSON"),
    (verdict(11), "The judge's answer score 11 is outside 1-10"),
    (verdict(0), "outside 1-10"),
    (verdict(7.5), "score 7.5 is not a whole number"),
    (verdict("7"), 'score "7" is not a whole number'),
    (json.dumps({"score": 7}), "has no 'reason'"),
    (json.dumps({"score": 7, "reason": "ok", "extra": 1}), "unexpected keys: 'extra'"),
    ("[7]", "is not a JSON object"),
]


@pytest.mark.parametrize("text,error", BAD_ANSWERS)
@pytest.mark.parametrize("fmt", ["openai", "anthropic"])
def test_a_bad_answer_is_one_line_and_nothing_is_stored(
    fmt, text, error, fake, provider_for, sqlite_store, saved_run
):
    run = saved_run()
    fake.push(answer(fmt, text))
    (outcome,) = judge_runs(sqlite_store, [run.id], make_judge(fmt), provider_for)
    assert error in outcome.error
    assert "\n" not in outcome.error and outcome.evaluations == []
    assert outcome.lines() == [{"run_id": run.id, "turn": None, "error": outcome.error}]
    assert sqlite_store.evaluations.for_run(run.id) == []
    assert sqlite_store.get_run(run.id).evaluations == []


@pytest.mark.parametrize("fmt", ["openai", "anthropic"])
def test_a_provider_error_is_one_line_and_nothing_is_stored(
    fmt, fake, provider_for, sqlite_store, saved_run
):
    run = saved_run()
    if fmt == "openai":
        fake.push(openai_error(500, "The server had an error", "server_error"))
    else:
        fake.push(anthropic_error(500, "api_error", "Internal server error"))
    (outcome,) = judge_runs(sqlite_store, [run.id], make_judge(fmt), provider_for)
    assert outcome.error.startswith("The judge's provider failed:")
    assert "\n" not in outcome.error
    assert sqlite_store.evaluations.for_run(run.id) == []


def test_an_answer_cut_at_max_tokens_says_so(fake, provider_for, sqlite_store, saved_run):
    from tests.providers.provider_fakes import openai_stream

    run = saved_run()
    fake.push(openai_stream(['{"score": 7, "rea'], finish="length"))
    (outcome,) = judge_runs(sqlite_store, [run.id], make_judge("openai"), provider_for)
    assert "not valid JSON" in outcome.error and "raise the judge's max_tokens" in outcome.error


@pytest.mark.parametrize("fmt", ["openai", "anthropic"])
def test_per_turn_judging_covers_every_turn(fmt, fake, provider_for, sqlite_store, saved_run):
    run = saved_run(turns=4)
    fake.push(*[answer(fmt, verdict(3 + i, f"turn {i}")) for i in range(4)])
    judge = make_judge(fmt, rubric_messages=TURN_RUBRIC, per="turn")

    outcomes = list(judge_runs(sqlite_store, [run.id], judge, provider_for))

    assert [o.turn for o in outcomes] == [0, 1, 2, 3]
    assert all(o.ok for o in outcomes)
    for i, request in enumerate(fake.requests):
        sent = json.dumps(request.body)
        assert f"Judge turn {i} by {run.turns[i].bot_name}:\\nTurn {i} from" in sent
    saved = sqlite_store.evaluations.for_run(run.id)
    assert [(e.per, e.turn, e.score) for e in saved] == [("turn", i, 3 + i) for i in range(4)]
    exported = transcript_dict(sqlite_store.get_run(run.id))["evaluations"]
    assert [e["turn"] for e in exported] == [0, 1, 2, 3]


def test_named_criteria_are_stored_one_row_each_with_the_cost_shared(
    fake, provider_for, sqlite_store, saved_run
):
    run = saved_run()
    reply = json.dumps(
        {"clarity": {"score": 8, "reason": "clear"}, "honesty": {"score": 4, "reason": "hmm"}}
    )
    fake.push(answer("openai", reply))
    judge = make_judge("openai", criteria=["clarity", "honesty"])
    (outcome,) = judge_runs(sqlite_store, [run.id], judge, provider_for, prices=PRICES)
    assert outcome.ok
    schema = fake.last.body["response_format"]["json_schema"]["schema"]
    assert schema["required"] == ["clarity", "honesty"]
    assert '"clarity": {"score"' in fake.last.body["messages"][0]["content"]
    saved = sqlite_store.evaluations.for_run(run.id)
    assert [(e.criterion, e.score) for e in saved] == [("clarity", 8), ("honesty", 4)]
    total = (50 * 1.0 + 10 * 2.0) / 1e6
    assert sum(e.cost_usd for e in saved) == pytest.approx(total)
    means = sqlite_store.evaluations.mean_scores([run.id])
    assert means == {run.id: {"judge.clarity": 8.0, "judge.honesty": 4.0}}

    fake.push(answer("openai", json.dumps({"clarity": {"score": 8, "reason": "x"}})))
    (missing,) = judge_runs(sqlite_store, [run.id], judge, provider_for)
    assert missing.error == "The judge's answer has no score for 'honesty'"
    assert len(sqlite_store.evaluations.for_run(run.id)) == 2


def test_a_saved_rubric_is_pinned_to_its_version(fake, provider_for, sqlite_store, saved_run):
    sqlite_store.prompts.save("civility", RUBRIC)
    sqlite_store.prompts.save(
        "civility", [*RUBRIC[:1], {**RUBRIC[1], "content": "v2 {{ transcript }}"}]
    )
    run = saved_run()
    spec = judge_from_data(
        {"bot": {"provider": "openai", "model": "gpt-4.1-mini"}, "rubric": "civility@1"}
    )
    judge = resolve(spec, sqlite_store.prompts)
    assert judge.name == "civility@1"
    fake.push(answer("openai", verdict(9)))
    (outcome,) = judge_runs(sqlite_store, [run.id], judge, provider_for)
    assert outcome.ok and "How good was it?" in fake.last.body["messages"][-1]["content"]
    latest = resolve(
        judge_from_data({**spec.model_dump(), "rubric": "civility"}), sqlite_store.prompts
    )
    assert latest.rubric == "civility@2"
    (saved,) = sqlite_store.evaluations.for_run(run.id)
    assert saved.judge == "civility@1" and saved.request["rubric"] == "civility@1"


def test_the_offline_demo_judge_answers_json(sqlite_store, saved_run, settings):
    from duet_core.providers import make_provider

    run = saved_run()
    judge = resolve(
        judge_from_data(
            {"bot": {"provider": "demo"}, "rubric_messages": RUBRIC, "criteria": ["a", "b"]}
        ),
        None,
    )
    (outcome,) = judge_runs(sqlite_store, [run.id], judge, lambda bot: make_provider(bot, settings))
    assert outcome.ok and [e.criterion for e in outcome.evaluations] == ["a", "b"]


def test_runs_that_cannot_be_judged_say_why(sqlite_store, saved_run, make_run, provider_for):
    from duet_core.models import RunStatus

    live = make_run(status=RunStatus.RUNNING, turns=2)
    sqlite_store.create_run(live)
    empty = saved_run(turns=0)
    outcomes = list(
        judge_runs(
            sqlite_store, [live.id, empty.id, "rmissing"], make_judge("openai"), provider_for
        )
    )
    assert [o.error for o in outcomes] == [
        f"Run {live.id} is running: judge it once it ends",
        f"Run {empty.id} has no turns to judge",
        "No saved run with id 'rmissing'",
    ]


@pytest.mark.parametrize(
    "changes,error",
    [
        ({"rubric": "civility@1"}, "give the rubric one way"),
        ({"rubric_messages": None}, "give the rubric one way"),
        ({"per": "turn"}, "judging per turn needs {{ turn }}"),
        ({"rubric_messages": TURN_RUBRIC}, "{{ turn }} is empty when judging per run"),
        (
            {"rubric_messages": [{"role": "system", "content": "{{ transcript }}"}]},
            "start and end with a human",
        ),
        ({"rubric_messages": [{"role": "human", "content": "Say hi"}]}, "put {{ transcript }}"),
        (
            {"rubric_messages": [{"role": "human", "content": "{{ transcript"}]},
            "malformed placeholder",
        ),
        ({"criteria": ["a", "a"]}, "each criterion is named once"),
        ({"per": "session"}, "per"),
        ({"bot": {"provider": "anthropic", "temperature": 0.5}}, "does not take temperature"),
    ],
)
def test_a_bad_judge_file_is_one_clear_error(changes, error):
    data = {"bot": {"provider": "openai", "model": "gpt-4.1-mini"}, "rubric_messages": RUBRIC}
    data = {k: v for k, v in {**data, **changes}.items() if v is not None}
    with pytest.raises(ConfigError) as e:
        resolve(judge_from_data(data), None)
    assert error in str(e.value)
    assert "\n" not in str(e.value)


def test_a_rubric_that_is_not_saved_is_named(sqlite_store):
    spec = judge_from_data({"bot": {}, "rubric": "nosuch@2"})
    with pytest.raises(ConfigError, match="No saved template named 'nosuch'"):
        resolve(spec, sqlite_store.prompts)


# --- every run of an experiment -----------------------------------------------------------


class Gate(Provider):
    """Answers a verdict; each request waits until ``limit`` are in flight at once (or every
    request has started), so the test sees the pool reach its limit and never pass it."""

    name = "gate"

    def __init__(self, total: int, limit: int):
        self.total, self.limit = total, limit
        self.cond = threading.Condition()
        self.in_flight = self.most = self.started = 0

    def open(self, system, messages, bot) -> ChunkStream:
        raise AssertionError("a judge asks for JSON: open_json")

    def open_json(self, system, messages, bot, schema) -> ChunkStream:
        assert schema == reply_schema()

        def chunks():
            with self.cond:
                self.in_flight += 1
                self.started += 1
                self.most = max(self.most, self.in_flight)
                self.cond.notify_all()
                self.cond.wait_for(
                    lambda: self.in_flight >= self.limit or self.started >= self.total, 5
                )
            try:
                yield TextDelta(verdict(6))
                yield Usage(10, 5)
                yield Finish("stop")
            finally:
                with self.cond:
                    self.in_flight -= 1
                    self.cond.notify_all()

        return ChunkStream(chunks())


def _experiment(store, runs: int, concurrency: int, budget: float | None = None) -> str:
    experiment = experiment_from_data(
        {
            "name": "judged",
            "run": {
                "topic": "Ban cars?",
                "max_turns": 2,
                "bots": [{"name": "Ada"}, {"name": "Bo"}],
            },
            "repeats": runs,
            "concurrency": concurrency,
        }
    )
    record = ExperimentQueue(store).create(experiment, "alice", budget_usd=budget)
    for run_id in ExperimentQueue(store).run_ids(record.id):
        run = store.get_run(run_id)
        for i in range(2):
            store.save_turn(run_id, _make_turn(run, i, cost=0.0))
        store.set_status(run_id, RunStatus.COMPLETED)
    return record.id


def test_every_run_of_an_experiment_is_judged_within_its_concurrency(sqlite_store):
    experiment_id = _experiment(sqlite_store, runs=6, concurrency=2)
    gate = Gate(total=12, limit=2)
    judge = resolve(
        judge_from_data({"bot": {"name": "Judge"}, "rubric_messages": TURN_RUBRIC, "per": "turn"}),
        None,
    )
    outcomes = list(judge_experiment(sqlite_store, experiment_id, judge, lambda bot: gate))
    assert len(outcomes) == 12 and all(o.ok for o in outcomes)
    assert gate.most == 2  # it reached the experiment's concurrency, never more
    run_ids = ExperimentQueue(sqlite_store).run_ids(experiment_id)
    judged = sqlite_store.evaluations.for_runs(run_ids)
    assert {r: sorted(e.turn for e in judged[r]) for r in run_ids} == {r: [0, 1] for r in run_ids}


def test_judging_an_experiment_stops_at_its_budget(sqlite_store):
    experiment_id = _experiment(sqlite_store, runs=4, concurrency=1, budget=0.001)
    judge = resolve(judge_from_data({"bot": {"name": "Judge"}, "rubric_messages": RUBRIC}), None)
    prices = {"duet-demo": (40.0, 40.0)}  # 10 in, 5 out: $0.0006 a request
    outcomes = list(
        judge_experiment(sqlite_store, experiment_id, judge, lambda bot: Gate(1, 1), prices=prices)
    )
    assert [o.ok for o in outcomes] == [True, True, False, False]
    assert outcomes[2].error.startswith("The experiment's budget ($0.001) is spent ($0.0012")
    assert sqlite_store.evaluations.cost_of_experiment(experiment_id) == pytest.approx(0.0012)


def test_an_unknown_experiment_is_not_found(sqlite_store):
    judge = resolve(judge_from_data({"bot": {}, "rubric_messages": RUBRIC}), None)
    with pytest.raises(NotFound, match="No experiment xnope"):
        list(judge_experiment(sqlite_store, "xnope", judge, lambda bot: Gate(1, 1)))
