"""``python -m duet_core lab ...`` as a real subprocess, on the shipped fixtures (demo bots)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from duet_core.lab.sources import list_fixtures, load_fixture
from duet_core.store import Store

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "examples" / "fixtures"
DEMO = "examples/fixtures/cars-in-cities-demo.json"


@pytest.fixture
def env(tmp_path):
    e = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    e.update(
        DUET_DATABASE_URL=f"sqlite:///{tmp_path / 'lab.db'}",
        DUET_DEMO_TOKENS_PER_SECOND="0",
        PYTHONPATH=str(ROOT),
    )
    return e


def duet(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "duet_core", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_shipped_fixtures_load():
    names = list_fixtures(FIXTURES)
    assert len(names) >= 3
    for name in names:
        run = load_fixture(name, FIXTURES).run
        bot_turns = [t for t in run.turns if t.bot_index is not None]
        assert len(bot_turns) >= 4 and all(t.request_messages for t in bot_turns)


def test_regenerate_a_file_prints_json_events_and_touches_no_database(env, tmp_path):
    r = duet(env, "lab", "regenerate", DEMO, "--turn", "1", "--variants", "2", "--json")
    assert r.returncode == 0, r.stderr
    events = [json.loads(line) for line in r.stdout.splitlines()]
    assert {e["type"] for e in events} == {"text", "done"}
    done = [e for e in events if e["type"] == "done"]
    assert sorted(e["variant"] for e in done) == [0, 1]
    for e in done:
        text = "".join(
            x["content"] for x in events if x["type"] == "text" and x["variant"] == e["variant"]
        )
        assert e["turn"]["content"] == text and e["turn"]["index"] == 1
        assert e["turn"]["bot_name"] == "Bob" and e["turn"]["request_messages"]
    assert not (tmp_path / "lab.db").exists()  # a file source needs no database


def test_continue_and_save_branch_prints_the_new_run_id(env):
    r = duet(env, "lab", "continue", DEMO, "--set", "temperature=0.3", "--save-branch")
    assert r.returncode == 0, r.stderr
    run_id = r.stdout.splitlines()[-1]
    listed = duet(env, "runs")
    assert run_id in listed.stdout
    out = duet(
        env,
        "export",
        run_id,
        "--out",
        str(Path(env["DUET_DATABASE_URL"][10:]).with_suffix(".json")),
    )
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["regenerate", DEMO, "--turn", "7"], "No turn 7"),
        (["regenerate", DEMO, "--turn", "1", "--set", "temperature=5"], "temperature=5"),
        (["regenerate", DEMO, "--turn", "1", "--set", "colour=red"], "Unknown setting 'colour'"),
        (["regenerate", DEMO, "--turn", "1", "--variants", "5"], "--variants takes 1 to 4"),
        (["regenerate", "missing.json", "--turn", "1"], "No file missing.json"),
        (["regenerate", "nosuchrun", "--turn", "1"], "No run nosuchrun"),
        (["regenerate", DEMO], "--turn"),
        (["continue", "README.md"], "Not a transcript"),
        (["regenerate", DEMO, "--turn", "1", "--set", "var.mood=x"], "var.NAME"),
    ],
)
def test_bad_input_exits_2_with_one_line(env, args, message):
    Store(env["DUET_DATABASE_URL"]).close()  # an empty database
    r = duet(env, "lab", *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in r.stderr


def test_a_run_id_needs_an_existing_database(env, tmp_path):
    missing = tmp_path / "nowhere" / "duet.db"
    r = duet(env, "lab", "regenerate", "abc123", "--turn", "1", "--db", f"sqlite:///{missing}")
    assert r.returncode == 2 and "No database at" in r.stderr
    assert not missing.exists()


def test_several_sources_with_one_edit_and_a_summary(env, tmp_path):
    other = "examples/fixtures/sourdough-interview-ollama.json"  # turn 2 is the moderator's
    done = duet(
        env, "lab", "regenerate", DEMO, other, "--turn", "2", "--set", "temperature=1.25", "--json"
    )
    assert done.returncode == 1, done.stderr  # one source could not be asked
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines[0] == {
        "type": "error",
        "variant": 1,
        "message": "Turn 2 was written by a person (Moderator); pick a bot's turn.",
        "source": "sourdough-interview-ollama.json",
    }
    (finished,) = [e for e in lines if e["type"] == "done"]
    assert finished["source"] == "cars-in-cities-demo.json"
    assert finished["turn"]["index"] == 2 and finished["turn"]["temperature"] == 1.25
    summary = lines[-1]
    assert summary["type"] == "summary"
    assert [r["source"] for r in summary["rows"]] == [
        "cars-in-cities-demo.json",
        "sourdough-interview-ollama.json",
        "All (2)",
    ]
    assert summary["rows"][-1]["status"] == "1 done, 1 not"
    assert not (tmp_path / "lab.db").exists()  # no database opened, nothing written


def test_more_than_ten_sources_or_a_branch_of_many_exit_2(env, tmp_path):
    copies = []
    for i in range(11):
        copy = tmp_path / f"copy{i}.json"
        copy.write_bytes((ROOT / DEMO).read_bytes())
        copies.append(str(copy))
    too_many = duet(env, "lab", "continue", *copies)
    assert too_many.returncode == 2
    assert too_many.stderr.strip().endswith(
        "11 conversations picked: the Lab runs up to 10 at once. Pick 1 fewer."
    )
    branch = duet(env, "lab", "continue", *copies[:2], "--save-branch")
    assert branch.returncode == 2 and "--save-branch takes one SOURCE" in branch.stderr
