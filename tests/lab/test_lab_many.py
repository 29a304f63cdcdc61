"""The Prompt Lab on many conversations: fixtures, runs and a whole experiment as sources, one
set of edits regenerating the same turn position (or continuing) in each, through the real
SDKs; the per-provider limit; the summary row; the database untouched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select

from duet_core.batch import control
from duet_core.batch.experiment import experiment_from_data
from duet_core.batch.limits import ProviderLimits
from duet_core.errors import ConfigError, NotFound
from duet_core.lab.edits import parse_sets
from duet_core.lab.many import (
    MAX_SOURCES,
    ManyExperiment,
    experiment_sources,
    plan,
    run_many,
    unique,
)
from duet_core.lab.sources import LabSource, load_fixture, load_run
from duet_core.lab.summary import summary_rows
from duet_core.models import BotConfig, Turn
from duet_core.providers.scripted import Hold, ScriptedProvider
from duet_core.store import Store
from duet_core.store.experiments import ExperimentQueue
from tests.lab.conftest import recorded_run

FIXTURES = Path(__file__).resolve().parents[2] / "examples" / "fixtures"


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


@pytest.fixture
def store(tmp_path):
    with Store(f"sqlite:///{tmp_path / 'duet.db'}") as s:
        yield s


def saved(store: Store, run, owner: str = "alice") -> LabSource:
    run = run.model_copy(update={"owner": owner})
    store.create_run(run)
    for turn in run.turns:
        store.save_turn(run.id, turn)
    return load_run(store, run.id, owner)


def test_one_edit_regenerates_the_same_turn_in_every_run_through_the_sdks(
    fake, provider_for, store
):
    runs = [recorded_run(provider_for) for _ in range(3)]
    sources = [saved(store, run) for run in runs]
    fake.requests.clear()
    before = all_rows(store)

    cells = plan(sources, "regenerate", 2, parse_sets(["temperature=1.3"]))
    many = run_many(cells, provider_for, limits=ProviderLimits(2))

    assert all_rows(store) == before  # nothing written
    sent = [r.body for r in fake.requests]
    assert len(sent) == 3 and {b["temperature"] for b in sent} == {1.3}
    # turn 2 (by Gpt) of each run: its own recorded messages, only the temperature edited
    assert sorted(json.dumps(b["messages"]) for b in sent) == sorted(
        json.dumps(run.turns[2].request_messages) for run in runs
    )
    for i in range(3):
        state = many.variant(i)
        assert state is not None and state.error is None
        assert state.turn.index == 2 and state.turn.config.temperature == 1.3
    rows = summary_rows(many)
    assert [r["source"] for r in rows] == [s.label for s in sources] + ["All (3)"]
    total = rows[-1]
    assert total["status"] == "3 done"
    assert total["output tokens"] == sum(r["output tokens"] for r in rows[:3])
    assert total["result words"] == pytest.approx(
        sum(r["result words"] for r in rows[:3]) / 3, abs=0.05
    )
    assert total["original words"] == pytest.approx(
        sum(r["original words"] for r in rows[:3]) / 3, abs=0.05
    )


def test_fixtures_and_a_source_without_that_turn(tmp_path):
    names = ["cars-in-cities-demo.json", "sourdough-interview-ollama.json"]
    sources = [load_fixture(n, FIXTURES) for n in names]
    last = max(len(s.run.turns) for s in sources) - 1
    short = min(sources, key=lambda s: len(s.run.turns))
    cells = plan(sources, "regenerate", last)
    problems = {c.source.label: c.problem for c in cells}
    if len(short.run.turns) <= last:
        assert problems[short.label].startswith(f"No turn {last} in this run")
    asked = [c for c in cells if c.request is not None]
    assert asked and all(c.original.index == last for c in asked)

    continued = plan(sources, "continue", None)
    assert [c.request.index for c in continued] == [len(s.run.turns) for s in sources]
    assert [c.original for c in continued] == [s.run.turns[-1] for s in sources]


def test_more_than_ten_sources_is_one_clear_message():
    source = load_fixture("cars-in-cities-demo.json", FIXTURES)
    assert len(plan([source] * MAX_SOURCES, "continue", None)) == MAX_SOURCES
    with pytest.raises(ConfigError) as e:
        plan([source] * 12, "continue", None)
    assert e.value.message == (
        "12 conversations picked: the Lab runs up to 10 at once. Pick 2 fewer."
    )
    with pytest.raises(ConfigError, match="Pick at least one conversation"):
        plan([], "continue", None)


def test_requests_wait_for_the_providers_limit():
    """Five conversations, a limit of two per provider: two requests are in flight (the
    others wait for a slot) until they end; then the rest are sent."""
    source = load_fixture("cars-in-cities-demo.json", FIXTURES)
    holds = [Hold(), Hold()]
    provider = ScriptedProvider("fine").enqueue(["first ", holds[0]], ["second ", holds[1]])
    limits = ProviderLimits(2)
    cells = plan([source] * 5, "continue", None)
    many = ManyExperiment(cells, lambda bot: provider, limits=limits).start()
    try:
        assert provider.wait_calls(2)
        assert all(h.reached.wait(5) for h in holds)
        (state,) = limits.states().values()
        assert state.in_flight == 2 and len(provider.calls) == 2
    finally:
        for h in holds:
            h.release()
    assert many.join(10) and many.done
    assert len(provider.calls) == 5
    assert all(many.variant(i).error is None for i in range(5))


def test_a_source_that_cannot_be_asked_leaves_the_others_running():
    source = load_fixture("cars-in-cities-demo.json", FIXTURES)
    person = source.run.model_copy(deep=True)
    person.turns[1] = person.turns[1].model_copy(update={"bot_index": None, "bot_name": "Mo"})
    cells = plan([source, LabSource(person, "upload", "edited.json")], "regenerate", 1)
    assert cells[1].problem == "Turn 1 was written by a person (Mo); pick a bot's turn."
    many = run_many(cells, lambda bot: ScriptedProvider("again"))
    assert many.variant(1) is None and many.variant(0).turn.content == "again"
    rows = summary_rows(many)
    assert rows[1]["status"].startswith("not asked: Turn 1 was written by a person")
    assert rows[-1]["status"] == "1 done, 1 not"
    with pytest.raises(ConfigError, match="None of the conversations can be asked"):
        ManyExperiment([cells[1]], lambda bot: ScriptedProvider())


def test_an_experiments_runs_as_sources(store):
    exp = experiment_from_data(
        {
            "name": "tea sweep",
            "run": {
                "topic": "t",
                "max_turns": 2,
                "bots": [{"name": "Ann", "provider": "demo"}, {"name": "Bob", "provider": "demo"}],
            },
            "topics": ["Tea?", "Coffee?", "Water?"],
        }
    )
    record = control.submit(store, exp, "alice")
    for run_id in ExperimentQueue(store).run_ids(record.id):
        run = store.get_run(run_id)
        bot = run.config.bots[0]
        store.save_turn(
            run_id,
            Turn(
                index=0, bot_index=0, bot_name="Ann", content=f"On {run.config.topic}", config=bot
            ),
        )
    sources = experiment_sources(store, record.id, "alice")
    assert len(sources) == 3 and all(s.saved for s in sources)
    assert [s.run.config.topic for s in sources] == ["Tea?", "Coffee?", "Water?"]
    assert all("tea sweep" in s.label for s in sources)
    with pytest.raises(NotFound):
        experiment_sources(store, record.id, "bob")
    assert len(experiment_sources(store, record.id, "bob", is_admin=True)) == 3
    assert len(unique([*sources, *sources])) == 3

    before = all_rows(store)
    cells = plan(sources, "regenerate", 0, parse_sets(["temperature=1.5"]))
    provider = ScriptedProvider("again")
    many = run_many(cells, lambda bot: provider)
    assert all_rows(store) == before
    assert {c.bot.temperature for c in provider.calls} == {1.5}
    assert all(many.variant(i).turn.config.name == "Ann" for i in range(3))


def test_an_unedited_bot_keeps_its_own_settings():
    """One edit for every source changes that field only: each conversation's other
    settings stay its own."""
    source = load_fixture("cars-in-cities-demo.json", FIXTURES)
    other = source.run.model_copy(deep=True)
    hot = BotConfig(name="Hot", provider="demo", model="duet-demo", temperature=0.2)
    other.turns[0] = other.turns[0].model_copy(update={"config": hot, "request_messages": None})
    cells = plan(
        [source, LabSource(other, "upload", "other.json")],
        "regenerate",
        0,
        parse_sets(["max_tokens=99"]),
    )
    bots = [c.request.bot for c in cells]
    assert [b.max_tokens for b in bots] == [99, 99]
    assert bots[1].temperature == 0.2 and bots[1].name == "Hot"
    assert bots[0].temperature == source.run.turns[0].config.temperature
