"""Evaluations, ratings and votes in the store, on SQLite and PostgreSQL; migration 0008
upgrades a database that has data."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, inspect, text

from duet_core.errors import ConfigError, NotFound
from duet_core.models import Evaluation, RunStatus
from duet_core.store import Store, database_url, search
from duet_core.store.connect import open_engine
from duet_core.store.evaluations import Vote
from duet_core.store.migrate import alembic_config, head_revision
from duet_core.store.rows import run_values, turn_values
from duet_core.store.schema import Base, runs, turns


def _evaluation(run_id: str, score: int = 7, **kw) -> Evaluation:
    return Evaluation(run_id=run_id, judge="civility", score=score, reason="fine", **kw)


def _vote(a: str, b: str, winner: str = "a", voter: str = "alice") -> Vote:
    return Vote(a, b, 1, winner, "gpt-4o-mini", "claude-haiku-5", "critic v1", "critic v1", voter)


def test_0008_upgrades_a_database_that_has_data(db_url, make_run, make_turn):
    engine = open_engine(database_url(db_url))
    old = make_run("Kept through the upgrade", status=RunStatus.COMPLETED, turns=3)
    with engine.connect() as conn:
        conn.execution_options(duet_write=True)
        with conn.begin():
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0007")
            conn.execute(insert(runs), [run_values(old)])
            conn.execute(insert(turns), [turn_values(old.id, t) for t in old.turns])
    engine.dispose()

    with Store(db_url) as store:  # upgrades to head
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == (
                head_revision()
            )
            skip = {"include_name": lambda name, kind, _: not search.is_search_object(name)}
            assert (
                compare_metadata(MigrationContext.configure(conn, opts=skip), Base.metadata) == []
            )
        assert {"evaluations", "turn_ratings", "votes"} <= set(
            inspect(store.engine).get_table_names()
        )
        kept = store.get_run(old.id)
        assert kept.turns == old.turns and kept.config == old.config and kept.evaluations == []
        store.evaluations.add([_evaluation(old.id, 9, per="turn", turn=2)])
        assert [e.score for e in store.get_run(old.id).evaluations] == [9]


def test_evaluations_ratings_and_votes_round_trip_and_go_with_their_run(
    open_store, make_run, make_turn
):
    store = open_store()
    a = make_run("A", status=RunStatus.COMPLETED, turns=2)
    b = make_run("B", status=RunStatus.COMPLETED, turns=2)
    for run in (a, b):
        store.create_run(run)
    first = _evaluation(a.id, 7, request={"messages": [{"role": "user", "content": "ü ✓"}]})
    store.evaluations.add([first])
    (got,) = store.evaluations.for_run(a.id)
    assert got == first  # every field, the request and its time zone included
    assert store.get_run(a.id).evaluations == [first]

    store.evaluations.rate_turn(a.id, 1, 4, "alice")
    store.evaluations.rate_turn(a.id, 1, 6, "alice", note="better on reread")  # replaces
    store.evaluations.rate_turn(a.id, 1, 9, "bob")
    assert [(r.rater, r.score, r.note) for r in store.evaluations.ratings_for_run(a.id)] == [
        ("alice", 6, "better on reread"),
        ("bob", 9, ""),
    ]
    with pytest.raises(ConfigError, match="whole number from 1 to 10"):
        store.evaluations.rate_turn(a.id, 1, 11, "alice")
    with pytest.raises(NotFound):
        store.evaluations.rate_turn("rmissing", 1, 5, "alice")

    vote = store.evaluations.add_vote(_vote(a.id, b.id))
    assert store.evaluations.votes() == [vote]
    with pytest.raises(NotFound):
        store.evaluations.add_vote(_vote(a.id, "rmissing"))

    assert store.delete_run(a.id)
    assert store.evaluations.for_run(a.id) == []
    assert store.evaluations.ratings_for_run(a.id) == []
    assert store.evaluations.votes() == []
    with pytest.raises(NotFound):
        store.evaluations.add([_evaluation(a.id)])


def test_votes_filter_by_experiment_and_topic(open_store, make_run):
    store = open_store()
    made = {}
    for key, topic, experiment in (
        ("x1", "Cars", "xexp"),
        ("x2", "Cars", "xexp"),
        ("x3", "Tax", "xexp"),
        ("free", "Cars", None),
    ):
        run = make_run(topic, status=RunStatus.COMPLETED, turns=1)
        run.experiment_id = experiment
        store.create_run(run)
        made[key] = run.id
    in_exp = store.evaluations.add_vote(_vote(made["x1"], made["x2"]))
    other_topic = store.evaluations.add_vote(_vote(made["x1"], made["x3"], "tie", "bob"))
    outside = store.evaluations.add_vote(_vote(made["x1"], made["free"], "b"))
    assert store.evaluations.votes() == [in_exp, other_topic, outside]
    assert store.evaluations.votes(experiment_id="xexp") == [in_exp, other_topic]
    assert store.evaluations.votes(topic="Cars") == [in_exp, outside]
    assert store.evaluations.votes(experiment_id="xexp", topic="Cars") == [in_exp]
    assert store.evaluations.votes(voter="bob") == [other_topic]


def test_the_cost_of_judging_an_experiment(open_store, make_run):
    store = open_store()
    run = make_run(status=RunStatus.COMPLETED, turns=1)
    run.experiment_id = "xexp"
    store.create_run(run)
    store.evaluations.add([_evaluation(run.id, cost_usd=0.25), _evaluation(run.id, cost_usd=None)])
    assert store.evaluations.cost_of_experiment("xexp") == pytest.approx(0.25)
    assert store.evaluations.cost_of_experiment("xother") == 0.0


def test_people_means_per_run_and_the_topics_voted_on(open_store, make_run):
    store = open_store()
    made = {}
    for key, topic, owner in (
        ("a1", "Cars", "alice"),
        ("a2", "Cars", "alice"),
        ("a3", "Tax", "alice"),
        ("b1", "Boats", "bob"),
        ("b2", "Boats", "bob"),
    ):
        run = make_run(topic, owner=owner, status=RunStatus.COMPLETED, turns=2)
        store.create_run(run)
        made[key] = run.id
    store.evaluations.rate_turn(made["a1"], 0, 8, "alice")
    store.evaluations.rate_turn(made["a1"], 1, 5, "alice")
    store.evaluations.rate_turn(made["a1"], 1, 2, "bob")
    assert store.evaluations.people_means([made["a1"], made["a2"]]) == {made["a1"]: 5.0}

    store.evaluations.add_vote(_vote(made["a1"], made["a2"]))
    store.evaluations.add_vote(_vote(made["a1"], made["a3"]))  # two topics: no topic of its own
    store.evaluations.add_vote(_vote(made["b1"], made["b2"]))
    assert store.evaluations.voted_topics() == ["Boats", "Cars"]
    assert store.evaluations.voted_topics(owner="alice") == ["Cars"]
    assert store.evaluations.voted_topics(owner="carol") == []
