"""The command line, run as a real subprocess: `python -m duet_core ...`."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(tmp_path):
    e = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    e.update(
        DUET_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}",
        DUET_DEMO_TOKENS_PER_SECOND="0",
        PYTHONPATH=str(ROOT),
    )
    return e


def duet(env, *args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "duet_core", *args],
        env=env,
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_run_streams_saves_and_exports(env, tmp_path):
    out = tmp_path / "debate.csv"
    r = duet(
        env,
        "run",
        "examples/demo.yaml",
        "--turns",
        "3",
        "--topic",
        "Tea or coffee?",
        "--export",
        str(out),
        "--verbose",  # logs reach the terminal only when asked for
    )
    assert r.returncode == 0, r.stderr
    assert "Ada (duet-demo):" in r.stdout and "Bob (duet-demo):" in r.stdout
    assert "[completed: max_turns]" in r.stdout
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [row["bot_name"] for row in rows] == ["Ada", "Bob", "Ada"]
    # every stdout line of the log is JSON with the run id
    logs = [json.loads(line) for line in r.stderr.splitlines() if line.startswith("{")]
    run_id = rows[0]["run_id"]
    calls = [entry for entry in logs if entry["message"] == "provider call"]
    assert len(calls) == 3 and all(c["run_id"] == run_id for c in calls)
    assert {"provider", "model", "duration_ms", "ttft_ms", "output_tokens"} <= set(calls[0])

    listed = duet(env, "runs")
    assert listed.returncode == 0 and run_id in listed.stdout and "Tea or coffee?" in listed.stdout

    for suffix in (".json", ".jsonl", ".md"):
        target = tmp_path / f"again{suffix}"
        r = duet(env, "export", run_id, "--out", str(target))
        assert r.returncode == 0, r.stderr
        assert target.stat().st_size > 0
    doc = json.loads((tmp_path / "again.json").read_text(encoding="utf-8"))
    assert doc["schema"] == "duet.transcript/1" and len(doc["turns"]) == 3


def test_a_failed_run_exits_1_and_keeps_what_was_saved(env, tmp_path):
    r = duet(env, "run", "examples/openai-vs-claude.json", "--turns", "2")
    assert r.returncode == 1
    assert "OPENAI_API_KEY" in r.stderr and "OPENAI_API_KEY" not in r.stdout  # errors: stderr
    assert "Traceback" not in r.stdout + r.stderr
    listed = duet(env, "runs")
    assert "error" in listed.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "missing.yaml"], "Cannot read missing.yaml"),
        (["run", "examples/demo.yaml", "--turns", "zero"], "not a whole number"),
        (["run", "examples/demo.yaml", "--turns", "0"], "must be 1 or more"),
        (["run", "examples/demo.yaml", "--export", "out.xlsx"], "Unknown export format '.xlsx'"),
        (["export", "nope", "--out", "x.json"], "No database at"),
        (["export", "nope", "--out", "x.txt"], "Unknown export format"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_invalid_input_exits_2_with_one_line(env, args, message):
    r = duet(env, *args)
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], r.stderr


def test_bad_config_file_is_explained(env, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(
        '{"topic": "x", "bots": [{"provider": "anthropic", "model": "claude-opus-5-5",'
        ' "temperature": 0.5}, {}]}'
    )
    r = duet(env, "run", str(bad))
    assert r.returncode == 2
    assert "does not take temperature" in r.stderr and "Traceback" not in r.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("topic: [unclosed")
    r = duet(env, "run", str(broken))
    assert r.returncode == 2 and "Not valid YAML" in r.stderr
