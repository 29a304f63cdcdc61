"""Judging Prompt Lab variants through the real SDK at the fake server (nothing stored), and
a blind vote between two variants (the one row the Lab writes), on SQLite and PostgreSQL;
migration 0009 upgrades a database that has votes."""

from __future__ import annotations

import json

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, insert, select, text

from duet_core.errors import ConfigError
from duet_core.evals.judge import JudgeSpec, resolve
from duet_core.evals.leaderboard import leaderboard
from duet_core.lab.judging import (
    cast_lab_vote,
    judge_variants,
    parse_judge_file,
    variant_conversation,
)
from duet_core.lab.requests import regenerate_request, run_variants
from duet_core.lab.sources import LabSource, load_run
from duet_core.models import BotConfig, RunStatus
from duet_core.store import Store, database_url, search
from duet_core.store.connect import open_engine
from duet_core.store.migrate import alembic_config, head_revision
from duet_core.store.rows import run_values, turn_values
from duet_core.store.schema import Base, runs, turns, votes
from tests.providers.provider_fakes import openai_stream
from tests.store.conftest import _make_run

JUDGE = BotConfig(name="Judge", provider="openai", model="gpt-4.1-mini")
TURN_RUBRIC = [
    {"role": "system", "content": "You judge one turn of a debate on {{ topic }}."},
    {"role": "human", "content": "{{ transcript }}\n\nJudge {{ speaker }}'s turn:\n{{ turn }}"},
]


def all_rows(store: Store) -> dict[str, list[str]]:
    meta = MetaData()
    meta.reflect(store.engine)
    with store.engine.connect() as conn:
        return {
            name: sorted(
                json.dumps(dict(r), default=str, sort_keys=True)
                for r in conn.execute(select(t)).mappings()
            )
            for name, t in meta.tables.items()
        }


def two_variants(store: Store, owner: str = "alice"):
    """A saved four-turn demo run and two variants of its turn 2 (another temperature)."""
    from duet_core.lab.edits import parse_sets
    from duet_core.providers.scripted import ScriptedProvider

    run = _make_run(status=RunStatus.COMPLETED, turns=4, owner=owner)
    store.create_run(run)
    source = load_run(store, run.id, owner)
    requests = [
        regenerate_request(source.run, 2, parse_sets([f"model={m}"])) for m in ("calm-1", "bold-2")
    ]
    provider = ScriptedProvider().enqueue("Calm and short.", "Bold and long reply.")
    lab = run_variants(requests, lambda bot: provider)
    return source, lab.results


def test_judging_variants_sends_each_in_its_conversation_and_stores_nothing(
    fake, provider_for, tmp_path
):
    with Store(f"sqlite:///{tmp_path / 'duet.db'}") as store:
        source, (a, b) = two_variants(store)
        before = all_rows(store)
        fake.push(
            openai_stream(['{"score": 8, "reason": "Calm."}']),
            openai_stream(['{"score": 3, "reason": "Loud."}']),
        )
        judge = resolve(JudgeSpec(bot=JUDGE, rubric_messages=TURN_RUBRIC, per="turn"), None)
        outcomes = judge_variants(judge, source.run, [a, None, b], provider_for)
        assert all_rows(store) == before  # nothing stored
    assert outcomes[1] is None
    scores = sorted(
        (o.evaluations[0].score, o.evaluations[0].reason) for o in (outcomes[0], outcomes[2])
    )
    assert scores == [(3, "Loud."), (8, "Calm.")]
    sent = [r.body["messages"][-1]["content"] for r in fake.requests]
    for text_, variant in zip(sorted(sent), sorted([a.content, b.content]), strict=True):
        assert text_.endswith(variant)
    first_turns = [t.content for t in source.run.turns[:2]]
    assert all(all(t in s for t in first_turns) for s in sent)  # the turns before it
    assert all(source.run.turns[2].content not in s for s in sent)  # not the original
    assert variant_conversation(source.run, a).turns[-1] is a


def test_a_bad_answer_is_one_error_and_nothing_stored(fake, provider_for, tmp_path):
    with Store(f"sqlite:///{tmp_path / 'duet.db'}") as store:
        source, (a, _) = two_variants(store)
        before = all_rows(store)
        fake.push(openai_stream(['{"score": 12, "reason": "Too good."}']))
        judge = resolve(JudgeSpec(bot=JUDGE, rubric_messages=TURN_RUBRIC, per="turn"), None)
        (outcome,) = judge_variants(judge, source.run, [a], provider_for)
        assert all_rows(store) == before
    assert not outcome.ok and outcome.evaluations == []
    assert "\n" not in outcome.error and "12" in outcome.error


def test_a_judge_file_from_bytes():
    spec = parse_judge_file(
        b"bot: {name: J, provider: demo}\nrubric: civility@2\nper: turn\n", "j.yaml"
    )
    assert (spec.rubric, spec.per) == ("civility@2", "turn")
    with pytest.raises(ConfigError, match=r"a judge file is \.json, \.yaml or \.yml"):
        parse_judge_file(b"{}", "j.txt")
    with pytest.raises(ConfigError, match=r"j\.json"):
        parse_judge_file(b'{"bot": {"name": "J"}}', "j.json")


def test_a_vote_between_two_variants_is_the_one_row_written(open_store):
    store = open_store()
    source, (a, b) = two_variants(store)
    before = all_rows(store)
    vote = cast_lab_vote(store, source, a, b, "B", "fran")
    after = all_rows(store)
    assert {k for k in after if after[k] != before[k]} == {"votes"}
    assert len(after["votes"]) == len(before["votes"]) + 1
    (stored,) = store.evaluations.votes()
    assert stored == vote and (stored.run_a, stored.run_b) == (None, None)
    assert stored.winner == "b" and stored.voter == "fran" and stored.bot_index == 0
    assert stored.lab["source_run"] == source.run.id and stored.lab["turn"] == 2
    assert (stored.lab["a"]["text"], stored.lab["b"]["text"]) == (a.content, b.content)
    assert store.evaluations.votes(experiment_id="x-none") == []  # not an experiment's
    standings = leaderboard(store.evaluations.votes(), by="model", rounds=10)
    assert [(s.name, s.wins, s.losses) for s in standings] == [("bold-2", 1, 0), ("calm-1", 0, 1)]
    with pytest.raises(ConfigError, match="same turn"):
        cast_lab_vote(store, source, a, a.model_copy(update={"index": 3}), "a", "fran")
    with pytest.raises(ConfigError, match="a, b or tie"):
        cast_lab_vote(store, source, a, b, "c", "fran")
    fixture = LabSource(source.run, "fixture", "fixture x.json")
    assert cast_lab_vote(store, fixture, a, b, "tie", "fran").lab["source_run"] is None


def test_0009_upgrades_a_database_that_has_votes(db_url):
    engine = open_engine(database_url(db_url))
    run_a = _make_run("A", status=RunStatus.COMPLETED, turns=2)
    run_b = _make_run("B", status=RunStatus.COMPLETED, turns=2)
    with engine.connect() as conn:
        conn.execution_options(duet_write=True)
        with conn.begin():
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0008")
            for r in (run_a, run_b):
                conn.execute(insert(runs), [run_values(r)])
                conn.execute(insert(turns), [turn_values(r.id, t) for t in r.turns])
            conn.execute(
                text(
                    "INSERT INTO votes (id, run_a, run_b, bot_index, winner, model_a, model_b,"
                    " persona_a, persona_b, voter, created_at) VALUES ('v1', :a, :b, 1, 'a',"
                    " 'm1', 'm2', 'p', 'p', 'alice', CURRENT_TIMESTAMP)"
                ),
                {"a": run_a.id, "b": run_b.id},
            )
    engine.dispose()
    with Store(db_url) as store:  # upgrades to head
        with store.engine.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
            assert version == head_revision()  # 0009 and every later migration applied
            skip = {"include_name": lambda name, kind, _: not search.is_search_object(name)}
            assert (
                compare_metadata(MigrationContext.configure(conn, opts=skip), Base.metadata) == []
            )
            assert conn.execute(select(votes.c.lab)).scalars().all() == [None]
        (kept,) = store.evaluations.votes()
        assert (kept.run_a, kept.run_b, kept.winner) == (run_a.id, run_b.id, "a")
        store.delete_run(run_a.id)  # a run's votes still go with it
        assert store.evaluations.votes() == []
