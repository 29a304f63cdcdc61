"""History page logic without Streamlit: queries, labels, row picks, access, chart data."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from duet_core.errors import AccessDenied, ConfigError
from duet_core.models import BotConfig, Run, RunConfig, RunStatus, Turn
from duet_core.store import RunNotFound
from duet_ui.history import data as hd
from duet_ui.history import pick as hp
from duet_ui.history.charts import (
    BOT_HEX,
    timings_spec,
    tokens_by_bot,
    tokens_spec,
    turn_metrics,
)
from duet_ui.shell.services import Viewer

ALICE = Viewer("alice", "Alice", ("user",))
ADMIN = Viewer("root", "Root", ("admin",))


def test_query_owner_paging_and_dates():
    q = hd.run_query(ALICE, hd.Filters(statuses=("stopped",), search=" tea "), page=3)
    assert q.owner == "alice" and q.offset == 100 and q.limit == hd.PAGE_SIZE
    assert q.statuses == [RunStatus.STOPPED] and q.search == "tea"
    assert hd.run_query(ADMIN, hd.Filters()).owner is None

    paris = ZoneInfo("Europe/Paris")
    q = hd.run_query(ALICE, hd.Filters(dates=(date(2026, 3, 1), date(2026, 3, 2))), tz=paris)
    assert q.since == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)
    assert q.until == datetime(2026, 3, 2, 23, 0, tzinfo=UTC)  # end day included
    q = hd.run_query(ALICE, hd.Filters(dates=(date(2026, 3, 1),)))
    assert q.until - q.since == timedelta(days=1)


def test_range_label_and_page_count():
    assert hd.range_label(1, 50, 120) == "1–50 of 120"
    assert hd.range_label(3, 20, 120) == "101–120 of 120"
    assert hd.range_label(1, 0, 0) == "0 of 0"
    assert hd.range_label(2, 50, 2000) == "51–100 of 2,000"
    assert hd.page_count(0) == 1 and hd.page_count(50) == 1 and hd.page_count(51) == 2


def test_a_click_on_a_cell_opens_its_run_and_ticks_follow_their_runs():
    ids = ["a", "b", "c"]
    # a click on a cell of row 1 opens run b; the click is taken (the cell cleared)
    assert hp.follow_selection([], [(1, "topic")], ids, ids) == hp.TableUpdate("b", [], True)
    # ticked rows are for Compare: they open nothing and need no reset while rows stay put
    assert hp.follow_selection([0, 2], [], ids, ids) == hp.TableUpdate(None, [0, 2], False)
    assert hp.follow_selection([2], [(0, "status")], ids, ids) == hp.TableUpdate("a", [2], True)
    # the rows moved (a new run on top, a delete): each tick follows its run; a run gone
    # from the list loses its tick
    assert hp.follow_selection([0, 2], [], ids, ["n", "a", "b"]) == hp.TableUpdate(None, [1], True)
    # a click that refers to a row that is not there any more opens nothing
    assert hp.follow_selection([], [(7, "topic")], ids, ids).opened is None
    assert hp.follow_selection([], [], [], ids) == hp.TableUpdate(None, [], False)


def test_table_selection_reads_the_widget_state():
    assert hp.table_selection({}) == ([], [])
    state = {hp.TABLE_KEY: {"selection": {"rows": [2, 0], "columns": [], "cells": [[1, "topic"]]}}}
    assert hp.table_selection(state) == ([2, 0], [(1, "topic")])


class FakeStore:
    def __init__(self, *runs: Run):
        self.runs = {r.id: r for r in runs}
        self.deleted: list[str] = []

    def get_run(self, run_id: str) -> Run | None:
        return self.runs.get(run_id)

    def delete_run(self, run_id: str) -> bool:
        self.deleted.append(run_id)
        return self.runs.pop(run_id, None) is not None


def make_run(owner: str = "alice", status: RunStatus = RunStatus.COMPLETED, turns=()) -> Run:
    bots = [BotConfig(name="Ann"), BotConfig(name="Bob")]
    return Run(
        owner=owner,
        status=status,
        config=RunConfig(topic="t", bots=bots),
        turns=list(turns),
    )


def test_run_for_viewer_and_delete():
    mine, theirs = make_run("alice"), make_run("bob")
    live = make_run("alice", RunStatus.RUNNING)
    store = FakeStore(mine, theirs, live)
    assert hd.run_for_viewer(store, mine.id, ALICE) is mine
    with pytest.raises(AccessDenied, match="Access denied"):
        hd.run_for_viewer(store, theirs.id, ALICE)
    with pytest.raises(AccessDenied, match="Access denied"):
        hd.run_for_viewer(store, "missing", ALICE)
    assert hd.run_for_viewer(store, theirs.id, ADMIN) is theirs
    with pytest.raises(RunNotFound):
        hd.run_for_viewer(store, "missing", ADMIN)

    with pytest.raises(AccessDenied):
        hd.delete_run(store, theirs.id, ALICE)
    with pytest.raises(ConfigError, match="stop it"):
        hd.delete_run(store, live.id, ALICE)
    hd.delete_run(store, mine.id, ALICE)
    assert store.deleted == [mine.id]


def test_chart_frames_per_bot():
    ann, bob = BotConfig(name="Ann"), BotConfig(name="Ann")  # same names: told apart
    turns = [
        Turn(index=0, bot_index=0, bot_name="Ann", config=ann, output_tokens=5, latency_ms=10.0),
        Turn(index=1, bot_index=None, bot_name="Moderator", content="hush"),
        Turn(index=2, bot_index=1, bot_name="Ann", config=bob, output_tokens=7, ttft_ms=3.0),
    ]
    run = Run(config=RunConfig(topic="t", bots=[ann, bob]), turns=turns)
    metrics = turn_metrics(run)
    assert list(metrics["turn"]) == [1, 3]
    assert list(metrics["bot"]) == ["Ann (1)", "Ann (2)"]
    wide = tokens_by_bot(metrics, ["Ann (1)", "Ann (2)"])
    assert list(wide.columns) == ["Ann (1)", "Ann (2)"]
    assert wide.loc[1, "Ann (1)"] == 5 and wide.loc[3, "Ann (2)"] == 7


def test_chart_specs_name_the_frames_columns_and_bot_colours():
    """Plain Vega-Lite specs (no Altair): fields are the frames' columns, bots keep the
    transcript's colours."""
    labels = ["Ann (1)", "Ann (2)"]
    tokens = tokens_spec(labels)["encoding"]
    assert {tokens[a]["field"] for a in ("x", "y", "color")} == {"turn", "output tokens", "bot"}
    assert tokens["color"]["scale"] == {"domain": labels, "range": list(BOT_HEX[:2])}
    timings = timings_spec(labels)
    assert timings["encoding"]["color"] == tokens["color"]  # a bot keeps its colour
    assert [layer["encoding"]["y"]["field"] for layer in timings["layer"]] == [
        "latency (ms)",
        "TTFT (ms)",
    ]
    assert timings["resolve"]["scale"]["y"] == "independent"  # TTFT not flattened


def test_runs_frame_columns():
    """What matters first (seen without a sideways scroll); owner and run id last."""
    frame = hd.runs_frame([], with_owner=True)
    assert list(frame.columns)[:5] == ["topic", "status", "turns", "tokens", "cost (USD)"]
    assert list(frame.columns)[-2:] == ["owner", "run"]
    shown = hd.column_order([*frame.columns, "branches"])
    assert shown[-3:] == ["branches", "owner", "run"] and shown[0] == "topic"


def test_runs_frame_shows_an_identity_providers_person_by_name():
    """Runs of someone signed in through an identity provider belong to their subject key
    (duet_core/identity.py); the owner column shows their name."""
    from duet_core.store.query import BotSummary, RunSummary

    bot = BotSummary(name="A", provider="demo", model="demo")
    runs = [
        RunSummary(
            id=f"r{i}",
            owner=owner,
            created_at=datetime(2026, 1, 1, tzinfo=UTC),
            finished_at=None,
            topic="t",
            status=RunStatus.RUNNING,
            stop_reason=None,
            error=None,
            bots=(bot, bot),
            max_turns=4,
            turn_count=0,
            input_tokens=0,
            output_tokens=0,
            cost_usd=None,
            duration_s=None,
        )
        for i, owner in enumerate(["oidc:0123456789abcdef0123", "alice"])
    ]
    names = {"oidc:0123456789abcdef0123": "Jane Doe"}
    frame = hd.runs_frame(runs, with_owner=True, owner_names=names)
    assert list(frame["owner"]) == ["Jane Doe", "alice"]


def test_compare_charts_give_each_bot_one_colour_in_every_chart():
    """Bot 1 blue, bot 2 orange (the transcript's), a shade per run, the same in each chart
    whichever series it has data for; the runs also differ by dash."""
    from duet_ui.history import compare

    runs = [
        Run(
            owner="a",
            config=RunConfig(topic="t", bots=[BotConfig(name="Ann"), BotConfig(name="Bo")]),
        )
        for _ in range(3)
    ]
    domain, colours = compare.series_colours(runs)
    assert domain == ["#1 · Ann", "#1 · Bo", "#2 · Ann", "#2 · Bo", "#3 · Ann", "#3 · Bo"]
    assert colours[:2] == list(BOT_HEX[:2]) and len(set(colours)) == 6
    scales = [
        compare.compare_spec(m, runs)["encoding"]["color"]["scale"]
        for m in ("output tokens", "latency (ms)", "TTFT (ms)")
    ]
    assert all(s == {"domain": domain, "range": colours} for s in scales)
    spec = compare.compare_spec("latency (ms)", runs)
    assert spec["encoding"]["strokeDash"]["field"] == "run"
    assert spec["encoding"]["color"]["legend"]["labelLimit"] == 0  # names never cut off


def test_compare_marks_the_settings_that_differ():
    from duet_ui.history import compare

    def run(temperature):
        bots = [BotConfig(name="Ann", temperature=temperature), BotConfig(name="Bo")]
        return Run(owner="a", config=RunConfig(topic="t", bots=bots))

    runs = [run(0.7), run(0.7), run(1.3)]
    frame = compare.settings_frame(runs)
    assert "temperature ≠" in frame.index and "model" in frame.index
    marks = compare.differing(frame, len(runs))
    assert marks.loc["temperature ≠"].tolist() == [False, False, True, False, False, False]
    assert not marks.loc["model"].any()
