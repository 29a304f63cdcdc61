"""``python -m duet_core eval ...`` as docs/design.md says: outputs, --json shapes, exit codes."""

from __future__ import annotations

import io
import json

import pytest
import yaml

from duet_core.cli.main import main
from duet_core.models import BotConfig, RunStatus
from duet_core.store import Store
from tests.evals.conftest import RUBRIC, TURN_RUBRIC, answer, verdict
from tests.providers.provider_fakes import API_KEY
from tests.store.conftest import _bots, _make_run


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


@pytest.fixture
def db(tmp_path):
    return f"sqlite:///{tmp_path / 'duet.db'}"


@pytest.fixture
def env(monkeypatch, fake):
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", f"{fake.url}/v1")
    monkeypatch.setenv("DUET_MAX_RETRIES", "0")


def judge_file(tmp_path, **changes) -> str:
    data = {
        "name": "civility",
        "bot": {"name": "Judge", "provider": "openai", "model": "gpt-4.1-mini"},
        "rubric_messages": RUBRIC,
        **changes,
    }
    path = tmp_path / "judge.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(path)


def saved(db: str, *models: str, turns: int = 2, experiment: str | None = None) -> list[str]:
    """Completed runs whose bot 1 uses each of ``models`` (bot 0 the same in all)."""
    ids = []
    with Store(db) as store:
        for model in models:
            configs = _bots()
            configs[1] = BotConfig(name="Bo", provider="openai", model=model)
            r = _make_run(status=RunStatus.COMPLETED, turns=turns, bot_configs=configs)
            r.experiment_id = experiment
            store.create_run(r)
            ids.append(r.id)
    return ids


def test_eval_run_json_stores_the_score_and_the_export_has_it(tmp_path, db, env, fake, capsys):
    (run_id,) = saved(db, "gpt-4.1")
    fake.push(answer("openai", verdict(8, "Kind and clear.")))
    code, out = run("eval", "run", run_id, "--judge", judge_file(tmp_path), "--json", "--db", db)
    assert code == 0, capsys.readouterr().err
    (line,) = [json.loads(x) for x in out.splitlines()]
    assert {k: line[k] for k in ("run_id", "turn", "score", "reason")} == {
        "run_id": run_id,
        "turn": None,
        "score": 8,
        "reason": "Kind and clear.",
    }
    assert line["judge"] == "civility" and line["evaluation_id"].startswith("e")
    assert "Bo: Turn 1 from Bo." in json.dumps(fake.last.body)

    target = tmp_path / "out.json"
    assert run("export", run_id, "--out", str(target), "--db", db)[0] == 0
    (ev,) = json.loads(target.read_text())["evaluations"]
    assert (ev["judge"], ev["score"], ev["model"]) == ("civility", 8, "gpt-4.1-mini")


def test_eval_run_text_per_turn(tmp_path, db, env, fake):
    (run_id,) = saved(db, "gpt-4.1", turns=3)
    fake.push(*[answer("openai", verdict(5 + i, f"r{i}")) for i in range(3)])
    file = judge_file(tmp_path, rubric_messages=TURN_RUBRIC, per="turn")
    code, out = run("eval", "run", run_id, "--judge", file, "--db", db)
    assert code == 0
    assert out.splitlines() == [
        f"{run_id} turn 0  civility  5/10  r0",
        f"{run_id} turn 1  civility  6/10  r1",
        f"{run_id} turn 2  civility  7/10  r2",
        "civility: 3 judged (3 scores, mean 6.00); 0 failed",
    ]


def test_a_bad_answer_exits_1_with_its_error_and_stores_nothing(tmp_path, db, env, fake):
    (run_id,) = saved(db, "gpt-4.1")
    fake.push(answer("openai", verdict(12)))
    code, out = run("eval", "run", run_id, "--judge", judge_file(tmp_path), "--json", "--db", db)
    assert code == 1
    assert [json.loads(x) for x in out.splitlines()] == [
        {"run_id": run_id, "turn": None, "error": "The judge's answer score 12 is outside 1-10"}
    ]
    with Store(db) as store:
        assert store.evaluations.for_run(run_id) == []


def test_eval_run_batch_judges_every_run_of_the_experiment(tmp_path, db):
    ids = saved(db, "gpt-4.1", "gpt-4o", "gpt-4o-mini", experiment="xexp")
    saved(db, "gpt-4.1")  # not in the experiment
    with Store(db) as store:  # the experiment's row (concurrency 2)
        from duet_core.batch.experiment import experiment_from_data
        from duet_core.store.experiments import ExperimentQueue

        queue = ExperimentQueue(store)
        exp = experiment_from_data({"name": "e", "run": {"topic": "t", "bots": [{}, {}]}})
        record = queue.create(exp, "alice", concurrency=2)
        for queued in queue.run_ids(record.id):
            store.delete_run(queued)
        with store._write() as conn:  # adopt the three saved runs into it
            from sqlalchemy import update

            from duet_core.store.schema import runs

            conn.execute(update(runs).where(runs.c.id.in_(ids)).values(experiment_id=record.id))
    file = judge_file(tmp_path, bot={"name": "Judge", "provider": "demo"})
    code, out = run("eval", "run", "--batch", record.id, "--judge", file, "--json", "--db", db)
    assert code == 0, out
    lines = [json.loads(x) for x in out.splitlines()]
    assert sorted(x["run_id"] for x in lines) == sorted(ids)
    assert all(1 <= x["score"] <= 10 for x in lines)


@pytest.mark.parametrize(
    "argv,words",
    [
        (["eval", "run", "--judge", "J"], "one of the arguments run_id --batch is required"),
        (["eval", "run", "r1", "--batch", "x1", "--judge", "J"], "not allowed with argument"),
        (["eval", "run", "r1", "--judge", "nope.txt"], "a judge file is .json, .yaml or .yml"),
        (["eval", "run", "rnope", "--judge", "J"], "No saved run with id 'rnope'"),
        (["eval", "run", "--batch", "xnope", "--judge", "J"], "No experiment xnope"),
        (["eval", "vote", "ra", "rb", "--winner", "left"], "invalid choice: 'left'"),
        (["eval", "vote", "ra", "rb", "--winner", "a"], "No saved run with id 'ra'"),
        (["eval", "rate", "ra", "--turn", "1", "--score", "11"], "a score is from 1 to 10"),
        (["eval", "leaderboard", "--by", "size"], "invalid choice: 'size'"),
        (["eval", "leaderboard", "--batch", "xnope"], "No experiment xnope"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, db, capsys, argv, words):
    saved(db, "gpt-4.1")
    file = judge_file(tmp_path)
    argv = [file if a == "J" else a for a in argv]
    code, _ = run(*argv, "--db", db)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and words in err


def test_a_bad_judge_file_exits_2_naming_the_problem(tmp_path, db, capsys):
    (run_id,) = saved(db, "gpt-4.1")
    file = judge_file(tmp_path, per="turn")
    assert run("eval", "run", run_id, "--judge", file, "--db", db)[0] == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "judging per turn needs {{ turn }}" in err


def test_vote_rate_and_leaderboard(db, capsys):
    big, small, mini = saved(db, "gpt-4.1", "gpt-4o-mini", "gpt-4.1-mini")
    assert run("eval", "vote", big, small, "--winner", "a", "--db", db)[1].endswith(
        "bot 1, gpt-4.1 (a) beat gpt-4o-mini (b)\n"
    )
    assert run("eval", "vote", small, big, "--winner", "b", "--db", db)[0] == 0
    assert "tied" in run("eval", "vote", mini, small, "--winner", "tie", "--db", db)[1]
    assert run("eval", "vote", big, mini, "--winner", "a", "--bot", "0", "--db", db)[0] == 0
    assert run("eval", "rate", big, "--turn", "1", "--score", "9", "--db", db) == (
        0,
        f"Turn 1 of {big}: 9/10 saved\n",
    )

    code, out = run("eval", "leaderboard", "--json", "--rounds", "200", "--db", db)
    assert code == 0
    board = json.loads(out)
    assert board[0]["name"] == "gpt-4.1"
    assert {s["name"]: (s["wins"], s["losses"], s["ties"]) for s in board} == {
        "gpt-4.1": (2, 0, 0),
        "gpt-4o-mini": (0, 2, 1),
        "gpt-4.1-mini": (0, 0, 1),
    }
    for s in board:
        assert set(s) == {"name", "rating", "ci_low", "ci_high", "wins", "losses", "ties"}
        assert s["ci_low"] <= s["rating"] <= s["ci_high"]

    code, out = run("eval", "leaderboard", "--rounds", "50", "--db", db)
    lines = out.splitlines()
    assert lines[0].split() == ["#", "name", "rating", "95%", "interval", "W", "L", "T"]
    assert lines[1].split()[:2] == ["1", "gpt-4.1"]
    assert lines[-1].startswith("4 votes; Bradley-Terry")
    assert run("eval", "leaderboard", "--by", "persona", "--db", db)[1] == (
        "No votes between different personas yet.\n"
    )
    assert run("eval", "leaderboard", "--topic", "Other", "--json", "--db", db) == (0, "[]\n")


def test_agreement(db):
    (run_id,) = saved(db, "gpt-4.1", turns=3)
    from duet_core.models import Evaluation

    with Store(db) as store:
        store.evaluations.add(
            [
                Evaluation(run_id=run_id, judge="j", per="turn", turn=i, score=2 + 3 * i)
                for i in range(3)
            ]
        )
    assert run("eval", "agreement", "--db", db)[1] == (
        "No turn was scored by both a judge (per turn) and a person yet.\n"
    )
    for turn, score in ((0, 3), (1, 4), (2, 9)):
        assert (
            run("eval", "rate", run_id, "--turn", str(turn), "--score", str(score), "--db", db)[0]
            == 0
        )
    assert run("eval", "agreement", "--db", db) == (0, "j: Spearman +1.00 over 3 turns\n")
    assert json.loads(run("eval", "agreement", "--json", "--db", db)[1]) == [
        {"judge": "j", "items": 3, "spearman": 1.0}
    ]
