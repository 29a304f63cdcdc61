"""Listing runs for the History page: filters, search, paging; and bulk export."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from duet_core.models import RunStatus
from duet_core.store import RunQuery
from duet_core.store.selection import EXPORT_BATCH

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def catalog(store, make_run, make_turn, bots):
    """Six runs a day apart (r0 oldest), varied owners, statuses, providers and text."""
    anthropic, openai = bots("anthropic", "claude-haiku-4-5"), bots("openai", "gpt-4o")
    mixed = bots("demo", "duet-demo", "anthropic", "claude-sonnet-4-5")
    local = bots("openai_compatible", "llama3.2", "openai", "gpt-4o")
    specs = [
        ("Pirates and ninjas", "alice", RunStatus.COMPLETED, bots(), "Arr, matey."),
        ("Tea or coffee?", "bob", RunStatus.STOPPED, openai, "Coffee, 100%!"),
        ("Écoles de pensée", "alice", RunStatus.ERROR, mixed, "Une idée_folle"),
        ("Rust vs Go", "carol", RunStatus.RUNNING, local, "Borrow checker!"),
        ("Best pizza", "bob", RunStatus.PAUSED, bots(), "Margherita, obviously"),
        ("Space race", "alice", RunStatus.COMPLETED, anthropic, "To the MOON 🚀"),
    ]
    made = []
    for i, (topic, owner, status, configs, said) in enumerate(specs):
        when = T0 + timedelta(days=i)
        run = make_run(topic, owner=owner, status=status, created_at=when, bot_configs=configs)
        store.create_run(run)
        store.save_turn(run.id, make_turn(run, 0, content=said))
        store.save_turn(run.id, make_turn(run, 1, content="I see."))
        made.append(run)
    return made


def ids(page):
    return [s.id for s in page.items]


def test_everything_newest_first(store, catalog):
    page = store.list_runs(RunQuery())
    assert page.total == 6
    assert ids(page) == [r.id for r in reversed(catalog)]
    first = page.items[-1]
    assert first.topic == "Pirates and ninjas" and first.owner == "alice"
    assert [b.name for b in first.bots] == ["Ada", "Bo"]
    assert first.bots[0].provider == "demo" and first.bots[1].model == "duet-demo"
    assert first.turn_count == 2 and first.max_turns == 20


def test_filter_by_owner(store, catalog):
    page = store.list_runs(RunQuery(owner="alice"))
    assert ids(page) == [catalog[5].id, catalog[2].id, catalog[0].id]
    assert store.list_runs(RunQuery(owner="nobody")).total == 0


def test_filter_by_status(store, catalog):
    page = store.list_runs(RunQuery(statuses=[RunStatus.RUNNING, "paused"]))
    assert set(ids(page)) == {catalog[3].id, catalog[4].id}
    assert store.list_runs(RunQuery(statuses=["completed"])).total == 2


def test_filter_by_provider_and_model_of_either_bot(store, catalog):
    assert set(ids(store.list_runs(RunQuery(provider="openai")))) == {catalog[1].id, catalog[3].id}
    assert set(ids(store.list_runs(RunQuery(provider="anthropic")))) == {
        catalog[2].id,
        catalog[5].id,
    }
    assert set(ids(store.list_runs(RunQuery(model="gpt-4o")))) == {catalog[1].id, catalog[3].id}
    assert ids(store.list_runs(RunQuery(model="llama3.2"))) == [catalog[3].id]
    assert ids(store.list_runs(RunQuery(provider="openai", model="llama3.2"))) == [catalog[3].id]


def test_filter_by_dates(store, catalog):
    since = T0 + timedelta(days=2)
    until = T0 + timedelta(days=4)  # exclusive
    page = store.list_runs(RunQuery(since=since, until=until))
    assert ids(page) == [catalog[3].id, catalog[2].id]
    naive = store.list_runs(RunQuery(since=since.replace(tzinfo=None)))  # taken as UTC
    assert naive.total == 4


@pytest.mark.parametrize(
    ("needle", "expected"),
    [
        ("pirates", [0]),  # topic, case-insensitive
        ("MARGHERITA", [4]),  # turn content
        ("100%", [1]),  # words only: % is neither a wildcard nor an error
        ("idée_folle", [2]),  # _ separates words, as in the text
        ("folle idée", [2]),  # every word, in any order
        ("coffee 100", [1]),  # all the words in one text (here the turn)
        ("margh", [4]),  # the start of a word
        ("argherita", []),  # not the middle of one
        ("moon 🚀", [5]),
        ("i see", [0, 1, 2, 3, 4, 5]),
        ("nothing like this", []),
    ],
)
def test_search(store, catalog, needle, expected):
    page = store.list_runs(RunQuery(search=needle))
    assert sorted(ids(page)) == sorted(catalog[i].id for i in expected)
    assert page.total == len(expected)


def test_search_folds_non_ascii_case(store, catalog):
    if store.dialect == "postgresql":
        with store.engine.connect() as conn:
            ctype = conn.exec_driver_sql("SHOW lc_ctype").scalar()
        if ctype in ("C", "POSIX"):
            pytest.skip(f"this PostgreSQL database folds ASCII only (lc_ctype {ctype})")
    assert ids(store.list_runs(RunQuery(search="ÉCOLES"))) == [catalog[2].id]
    assert ids(store.list_runs(RunQuery(search="UNE IDÉE"))) == [catalog[2].id]


def test_filters_combine(store, catalog):
    q = RunQuery(owner="alice", statuses=["completed"], search="moon", provider="anthropic")
    assert ids(store.list_runs(q)) == [catalog[5].id]
    assert store.list_runs(q.model_copy(update={"owner": "bob"})).total == 0


def test_paging_keeps_the_total(store, catalog):
    pages = [store.list_runs(RunQuery(limit=4, offset=o)) for o in (0, 4, 8)]
    assert [len(p.items) for p in pages] == [4, 2, 0]
    assert {p.total for p in pages} == {6}
    assert ids(pages[0]) + ids(pages[1]) == ids(store.list_runs(RunQuery()))


def test_blank_filters_match_everything(store, catalog):
    assert store.list_runs(RunQuery(search="  ", provider="", model=None)).total == 6


def test_export_iterates_every_matching_run_in_full(store, make_run, make_turn):
    # more than one batch, many sharing a creation time: the paging must not skip or repeat
    n = EXPORT_BATCH * 2 + 7
    for i in range(n):
        run = make_run(f"topic {i}", created_at=T0 + timedelta(minutes=i // 10))
        run.owner = "alice" if i % 3 else "bob"
        run.turns = [make_turn(run, 0), make_turn(run, 1)]
        store.create_run(run)

    exported = list(store.runs_for_export(RunQuery(limit=5, offset=3)))  # limit/offset ignored
    assert len(exported) == n == len({r.id for r in exported})
    assert all(len(r.turns) == 2 for r in exported)
    times = [r.created_at for r in exported]
    assert times == sorted(times, reverse=True)

    bob = list(store.runs_for_export(RunQuery(owner="bob")))
    assert len(bob) == len(range(0, n, 3)) and {r.owner for r in bob} == {"bob"}
    assert list(store.runs_for_export(RunQuery(search="no such text"))) == []
