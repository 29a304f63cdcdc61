"""The Prompt Lab against a real database (SQLite and PostgreSQL) and the real SDKs at the
local fake server: nothing is written while experimenting (every row of every table compared
before and after each action), and "save as branch" writes exactly one new run."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from itertools import groupby
from typing import Any

import pytest
from sqlalchemy import MetaData, select

from duet_core.cli import main as cli
from duet_core.exports.transcript import transcript_dict
from duet_core.lab.edits import parse_sets
from duet_core.lab.requests import (
    BRANCH_STOP_REASON,
    continue_request,
    regenerate_request,
    run_variants,
    save_branch,
)
from duet_core.lab.sources import load_run
from duet_core.models import BotConfig, Run, RunConfig, RunStatus
from duet_core.providers import clear_client_cache, make_provider
from duet_core.run.engine import LiveRun
from duet_core.settings import Settings
from duet_core.store import Store
from tests.providers.provider_fakes import API_KEY, DEADLINE, FakeServer, anthropic_stream

GPT = BotConfig(
    name="Gpt", provider="openai", model="gpt-4.1-mini", temperature=0.7, system_prompt="Be Gpt."
)
CLAUDE = BotConfig(
    name="Claude", provider="anthropic", model="claude-sonnet-5-5", system_prompt="Be Claude."
)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    server = FakeServer().start()
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", f"{server.url}/v1")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    monkeypatch.setenv("DUET_MAX_RETRIES", "0")
    clear_client_cache()
    yield server
    server.stop()
    clear_client_cache()


@pytest.fixture
def provider_for(fake: FakeServer):
    settings = Settings(
        OPENAI_API_KEY=API_KEY,
        ANTHROPIC_API_KEY=API_KEY,
        OPENAI_BASE_URL=f"{fake.url}/v1",
        ANTHROPIC_BASE_URL=fake.url,
        max_retries=0,
        request_timeout=DEADLINE,
        _env_file=None,
    )
    return lambda bot: make_provider(bot, settings)


@pytest.fixture
def parent(store: Store, provider_for) -> Run:
    """A saved run of four turns, by the engine through the real SDKs, owned by alice."""
    config = RunConfig(topic="Tea or coffee?", max_turns=4, bots=[GPT, CLAUDE])
    run = Run(owner="alice", config=config)
    store.create_run(run)
    live = LiveRun(run, provider_for, store).start()
    assert live.join(30) and live.status is RunStatus.COMPLETED
    store.prompts.save(
        "critic", [{"role": "system", "content": "You are {{ my_name }}, a {{ mood }} critic."}]
    )
    return store.get_run(run.id)


def all_rows(store: Store) -> dict[str, list[str]]:
    """Every row of every table, as sorted JSON text."""
    meta = MetaData()
    meta.reflect(store.engine)
    out = {}
    with store.engine.connect() as conn:
        for name, table in sorted(meta.tables.items()):
            rows = conn.execute(select(table)).mappings().all()
            out[name] = sorted(json.dumps(dict(r), default=str, sort_keys=True) for r in rows)
    return out


def test_experimenting_writes_nothing(store, parent, provider_for, fake, db_url):
    before = all_rows(store)
    assert before["runs"] and before["turns"] and before["prompt_versions"]

    source = load_run(store, parent.id, "alice")
    assert all_rows(store) == before

    run_variants([regenerate_request(source.run, 2)], provider_for)  # nothing changed
    assert all_rows(store) == before

    two = regenerate_request(source.run, 2, parse_sets(["temperature=1.4"]))
    run_variants([two, two], provider_for)  # two variants at once
    assert all_rows(store) == before

    edits = parse_sets(["prompt=critic@1", "var.mood=grumpy"])
    templated = regenerate_request(source.run, 2, edits, store.prompts)
    fake.requests.clear()
    run_variants([templated], provider_for)
    assert fake.requests[0].body["messages"][0] == {
        "role": "system",
        "content": "You are Gpt, a grumpy critic.",
    }
    assert all_rows(store) == before

    fake.push(anthropic_stream(thinking=["Hm."], text=["More."]))
    run_variants([continue_request(source.run)], provider_for)
    assert all_rows(store) == before

    for argv in (
        ["lab", "regenerate", parent.id, "--turn", "1", "--json", "--variants", "2"],
        ["lab", "continue", parent.id, "--set", "temperature=0.2"],
        ["lab", "regenerate", parent.id, "--turn", "1", "--set", "temperature=9"],  # bad input
    ):
        cli.main([*argv, "--db", db_url], out=io.StringIO())
        assert all_rows(store) == before


def test_save_as_branch_writes_one_run_with_the_turns_before_the_fork(store, parent, provider_for):
    before = all_rows(store)
    fake_turns = run_variants(
        [regenerate_request(parent, 2, parse_sets(["temperature=1.3"]))] * 2, provider_for
    ).results

    branch = save_branch(store, load_run(store, parent.id, "alice"), fake_turns[1], owner="fac")

    after = all_rows(store)
    for table in ("alembic_version", "prompt_templates", "prompt_versions"):
        assert after[table] == before[table]  # (a search index may add the branch's rows)
    assert set(before["runs"]) < set(after["runs"]) and len(after["runs"]) == 2
    assert set(before["turns"]) < set(after["turns"]) and len(after["turns"]) == 4 + 3
    saved = store.get_run(branch.id)
    assert (saved.parent_id, saved.fork_turn, saved.owner) == (parent.id, 2, "fac")
    assert saved.status is RunStatus.STOPPED and saved.stop_reason == BRANCH_STOP_REASON
    assert [t.content for t in saved.turns[:2]] == [t.content for t in parent.turns[:2]]
    assert saved.turns[2].content == fake_turns[1].content
    assert saved.turns[2].config.temperature == 1.3
    assert saved.turns[2].request_messages == parent.turns[2].request_messages
    assert saved.bots_in_use()[0].temperature == 1.3  # Continue carries the variant's settings
    doc: dict[str, Any] = transcript_dict(saved)
    assert (doc["run"]["parent_id"], doc["run"]["fork_turn"]) == (parent.id, 2)  # named in JSON


def test_cli_save_branch_prints_the_branch_last(store, parent, fake, db_url):
    out = io.StringIO()
    argv = ["lab", "regenerate", parent.id, "--turn", "3", "--json", "--save-branch"]
    assert cli.main([*argv, "--db", db_url], out=out) == 0
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    # the text comes in as many lines as the network split it into; then done, then branch
    assert [kind for kind, _ in groupby(line["type"] for line in lines)] == [
        "text",
        "done",
        "branch",
    ]
    done = lines[-2]
    assert done["turn"]["index"] == 3 and done["turn"]["content"] == "Hello"
    assert done["turn"]["request_messages"] == parent.turns[3].request_messages
    branch = store.get_run(lines[-1]["run_id"])
    assert branch.parent_id == parent.id and branch.fork_turn == 3 and len(branch.turns) == 4

    out = io.StringIO()
    assert cli.main(["lab", "continue", parent.id, "--save-branch", "--db", db_url], out=out) == 0
    run_id = out.getvalue().splitlines()[-1]
    branch = store.get_run(run_id)
    assert branch.fork_turn == 4 and len(branch.turns) == 5 and branch.turns[4].bot_index == 0
