"""``batch`` and ``worker`` through the command line's one boundary (``main``), in this process,
with the offline demo provider: exit 1 when the budget stopped the experiment, the control
commands, and ``worker --until-idle`` draining a submitted experiment."""

from __future__ import annotations

import json
import re

import pytest

from duet_core.cli.main import main
from tests.batch.conftest import write_experiment

DEMO = {
    "name": "demo sweep",
    "run": {"topic": "t", "max_turns": 2, "bots": [{"name": "Ada"}, {"name": "Bo"}]},
    "topics": ["one", "two", "three"],
    "concurrency": 1,
}


@pytest.fixture(autouse=True)
def _demo(monkeypatch, tmp_path):
    monkeypatch.setenv("DUET_DEMO_TOKENS_PER_SECOND", "0")
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"duet-demo": [1_000_000, 1_000_000]}))  # $1 a token
    monkeypatch.setenv("DUET_PRICES_FILE", str(prices))


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_batch_run_exits_1_when_the_budget_stops_it(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'd.db'}"
    file = write_experiment(tmp_path / "e.json", DEMO)
    code, out, err = run_cli(capsys, "batch", "run", str(file), "--budget-usd", "5", "--db", db)
    assert code == 1, err
    assert "Budget: $5.00" in out and "the budget is spent" in out
    exp_id = re.search(r"Experiment (x\w+)", out).group(1)
    code, out, _ = run_cli(capsys, "batch", "status", exp_id, "--json", "--db", db)
    status = json.loads(out)
    assert status["status"] == "budget" and status["done"] == 1 and status["queued"] == 2
    assert status["cost_usd"] >= 5
    # a bigger budget and a worker finish it
    code, out, _ = run_cli(capsys, "batch", "resume", exp_id, "--budget-usd", "1000", "--db", db)
    assert code == 0 and "active" in out
    code, out, err = run_cli(capsys, "worker", "--until-idle", "--db", db)
    assert code == 0, err
    assert out.count(" completed") == 2
    code, out, _ = run_cli(capsys, "batch", "status", exp_id, "--db", db)
    assert "completed" in out and "3 done" in out


def test_submit_list_pause_cancel(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'd.db'}"
    file = write_experiment(tmp_path / "e.json", DEMO)
    code, out, err = run_cli(capsys, "batch", "submit", str(file), "--db", db)
    assert code == 0 and "Estimate: 3 runs" in err
    exp_id = out.strip()
    assert re.fullmatch(r"x[0-9a-f]{11}", exp_id)
    code, out, _ = run_cli(capsys, "batch", "list", "--db", db)
    assert exp_id in out and "demo sweep" in out
    assert run_cli(capsys, "batch", "pause", exp_id, "--db", db)[0] == 0
    code, out, _ = run_cli(capsys, "worker", "--until-idle", "--db", db)
    assert code == 0 and "completed" not in out.split("\n", 1)[1]  # paused: nothing ran
    code, out, _ = run_cli(capsys, "batch", "cancel", exp_id, "--db", db)
    assert code == 0 and "cancelled" in out
    code, _, err = run_cli(capsys, "batch", "resume", exp_id, "--db", db)
    assert code == 2 and "has ended" in err
    code, out, _ = run_cli(capsys, "batch", "status", exp_id, "--json", "--db", db)
    assert json.loads(out)["stopped"] == 3
    code, _, err = run_cli(capsys, "batch", "export", exp_id, "--out", "x.xlsx", "--db", db)
    assert code == 2 and "Unknown dataset format" in err
