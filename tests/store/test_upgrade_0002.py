"""A database made at revision 0001 (by the code of that time, with data in it) upgrades to
head: every old turn still loads, exports, and carries the exact request it was sent, so it
can be replayed. SQLite and PostgreSQL.

The old database is written by the code of commit ``BASELINE`` (the last one before migration
0002), taken out of this repository's own history with ``git archive`` (or a checkout named by
``DUET_BEFORE_DIR``), in a subprocess: its own models, store and ``bot_view``, migrated only to
0001. The requests the old ``bot_view`` produced for each turn are the expected backfill.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from duet_core.exports.transcript import (
    export_text,
    transcript_dict,
    transcript_from_json,
    transcript_json,
)
from duet_core.run.bot_view import split_request
from duet_core.store import Store
from duet_core.store.migrate import head_revision

BASELINE = "042419d"  # the last commit whose schema was revision 0001
REPO = Path(__file__).resolve().parents[2]

OLD_WRITER = r"""
import json, sys
from alembic import command
from duet_core.store import migrate
from duet_core.store.store import Store, _create_engine, database_url
from duet_core.models import BotConfig, Run, RunConfig, Turn
from duet_core.conversation import bot_view  # the old layout: this runs in BASELINE

url = sys.argv[1]
engine = _create_engine(database_url(url))
with engine.connect() as conn:
    conn.execution_options(duet_write=True)
    with conn.begin():
        cfg = migrate.alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
engine.dispose()
migrate.upgrade = lambda engine: None  # stay at 0001: this is the old database

long = "word " * 120
bots = [
    BotConfig(name="Ada", system_prompt="You are Ada, a tea lover."),
    BotConfig(name="Bo", context_tokens=400, max_tokens=100),  # no system prompt; tiny window
]
config = RunConfig(topic="Tea or coffee?", max_turns=8, bots=bots)
script = [(0, "Tea. " + long), (1, "Coffee. " + long), (None, "Be nice, both of you."),
          (0, "Fine: both. " + long), (1, "Agreed."), (0, "")]
turns, expected = [], {}
for i, (b, content) in enumerate(script):
    if b is not None:
        system, messages = bot_view(config.topic, turns, b, bots[b])
        expected[i] = {"system": system, "messages": messages}
    reason = "person" if b is None else ("error" if not content else "stop")
    turns.append(Turn(index=i, bot_index=b, bot_name="Moderator" if b is None else bots[b].name,
                      content=content, config=None if b is None else bots[b],
                      finish_reason=reason))
runs = []
for n in range(2):
    run = Run(owner="alice", config=config, status="completed", turns=turns)
    store = Store(url)
    store.create_run(run)
    store.close()
    runs.append(run.id)
print(json.dumps({"runs": runs, "expected": expected}))
"""


@pytest.fixture(scope="session")
def baseline_checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The code as it was at ``BASELINE``: from ``DUET_BEFORE_DIR`` or the git history."""
    if os.environ.get("DUET_BEFORE_DIR"):
        return Path(os.environ["DUET_BEFORE_DIR"])
    where = tmp_path_factory.mktemp("baseline")
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", BASELINE], capture_output=True, timeout=60
    )
    if archive.returncode != 0:
        pytest.skip(f"commit {BASELINE} is not in this checkout's history (set DUET_BEFORE_DIR)")
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive.stdout, check=True)
    return where


@pytest.fixture
def old_database(db_url: str, baseline_checkout: Path) -> tuple[str, dict]:
    before = baseline_checkout
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUET_")}
    result = subprocess.run(
        [sys.executable, "-c", OLD_WRITER, db_url],
        cwd=before,
        env={**env, "PYTHONPATH": str(before)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return db_url, json.loads(result.stdout.strip().splitlines()[-1])


def test_old_database_is_at_0001_with_its_runs(old_database):
    url, made = old_database
    from sqlalchemy import create_engine

    from duet_core.store import database_url

    engine = create_engine(database_url(url))
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0001"
            assert conn.execute(text("SELECT count(*) FROM runs")).scalar() == len(made["runs"])
    finally:
        engine.dispose()


def test_upgraded_turns_load_export_and_replay(old_database):
    url, made = old_database
    with Store(url) as store:
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
                head_revision()
            )
        for run_id in made["runs"]:
            run = store.get_run(run_id)
            assert run is not None and len(run.turns) == 6
            assert run.parent_id is None and run.fork_turn is None
            for turn in run.turns:
                assert turn.prompt is None
                if turn.by_person:
                    assert turn.request_messages is None
                    continue
                want = made["expected"][str(turn.index)]
                # the backfill is exactly what the old engine sent: replay gives the same call
                assert split_request(turn.request_messages) == (want["system"], want["messages"])
            # the tiny window really dropped old turns, and the backfill kept that
            bo_last = run.turns[4].request_messages
            assert bo_last[0]["content"].startswith("Tea or coffee?")
            assert not any("Tea. word" in m["content"] for m in bo_last)
            # Ada's system prompt is the first message; Bo had none
            assert run.turns[0].request_messages[0] == {
                "role": "system",
                "content": "You are Ada, a tea lover.",
            }
            assert run.turns[1].request_messages[0]["role"] == "user"

            doc = transcript_dict(run)
            assert doc["run"]["parent_id"] is None
            assert doc["turns"][3]["request_messages"] == run.turns[3].request_messages
            assert transcript_from_json(transcript_json(run)) == run
            samples = [json.loads(line) for line in export_text(run, ".jsonl").splitlines()]
            assert samples[0]["messages"][:-1] == run.turns[3].request_messages
            assert samples[0]["messages"][-1]["content"].startswith("Fine: both.")
            for suffix in (".csv", ".md"):
                assert export_text(run, suffix)


def test_upgraded_database_takes_new_turns_and_templates(old_database):
    url, made = old_database
    with Store(url) as store:
        version, created = store.prompts.save("after", [{"role": "system", "content": "Hi"}])
        assert created and version.version == 1
        run = store.get_run(made["runs"][0])
        extra = run.turns[-1].model_copy(
            update={
                "index": 6,
                "content": "More.",
                "request_messages": [{"role": "user", "content": "x"}],
            }
        )
        store.save_turn(run.id, extra)
        assert store.get_run(run.id).turns[-1].request_messages == [
            {"role": "user", "content": "x"}
        ]
