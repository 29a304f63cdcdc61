"""The History page: whose runs, filters, paging, one run in detail, access, delete, continue."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pandas as pd

from duet_core.exports.transcript import CSV_COLUMNS, SCHEMA
from duet_core.models import BotConfig, RunStatus
from duet_ui.history.pick import TABLE_KEY
from duet_ui.history.run import CHARTS_TAB, TRANSCRIPT_TAB, VIEW_KEY
from duet_ui.shell.services import services

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def table(at) -> pd.DataFrame:
    return at.dataframe(key="history_table").value


def test_user_sees_only_own_runs_admin_sees_all(seed, logged_in):
    mine = seed("alice", topic="Alice's run")
    seed("bob", topic="Bob's run")
    at = logged_in("alice", "history")
    assert not at.exception
    assert list(table(at)["run"]) == [mine.id]
    assert "owner" not in table(at).columns


def test_admin_sees_everyone(seed, logged_in):
    a = seed("alice", created_at=T0)
    b = seed("bob", created_at=T0 + timedelta(hours=1))
    at = logged_in("admin", "history")
    frame = table(at)
    assert list(frame["run"]) == [b.id, a.id]  # newest first
    assert list(frame["owner"]) == ["bob", "alice"]


def test_table_columns(seed, logged_in):
    seed("alice", topic="Cats or dogs?", turns=3, status=RunStatus.STOPPED, stop_reason="user")
    row = table(logged_in("alice", "history")).iloc[0]
    assert row["topic"] == "Cats or dogs?"
    assert row["bot 1"] == "Ann (demo/duet-demo)"
    assert row["turns"] == 3
    assert row["status"] == "stopped (user)"
    assert row["tokens"] == (10 + 11 + 12) + (20 + 21 + 22)


def test_filters_narrow_the_table(seed, logged_in):
    done = seed("alice", topic="About tea", contents=["Green tea is best", "Black"])
    stopped = seed("alice", topic="About coffee", status=RunStatus.STOPPED, stop_reason="user")
    openai_bots = (
        BotConfig(name="Ann", provider="openai", model="gpt-4.1-mini", base_url=None),
        BotConfig(name="Bob", provider="demo", model="duet-demo"),
    )
    other = seed("alice", topic="Provider run", bots=openai_bots)
    at = logged_in("alice", "history")
    assert set(table(at)["run"]) == {done.id, stopped.id, other.id}

    at.multiselect(key="history_status").select("stopped").run()
    assert list(table(at)["run"]) == [stopped.id]
    at.multiselect(key="history_status").unselect("stopped").run()

    at.text_input(key="history_search").input("GREEN TEA").run()  # in a turn, any case
    assert list(table(at)["run"]) == [done.id]
    at.text_input(key="history_search").input("").run()

    at.selectbox(key="history_provider").select("openai").run()
    assert list(table(at)["run"]) == [other.id]
    at.selectbox(key="history_provider").select(None).run()

    at.text_input(key="history_model").input("gpt-4.1-mini").run()
    assert list(table(at)["run"]) == [other.id]


def test_date_range_filter(seed, logged_in):
    old = seed("alice", created_at=T0 - timedelta(days=10))
    new = seed("alice", created_at=T0)
    at = logged_in("alice", "history")
    at.date_input(key="history_dates").set_value((T0.date(), T0.date())).run()
    assert list(table(at)["run"]) == [new.id]
    day = (T0 - timedelta(days=10)).date()
    at.date_input(key="history_dates").set_value((day, day + timedelta(days=1))).run()
    assert list(table(at)["run"]) == [old.id]


def test_paging(seed, logged_in):
    runs = [seed("alice", created_at=T0 + timedelta(minutes=i), turns=0) for i in range(120)]
    newest_first = [r.id for r in reversed(runs)]
    at = logged_in("alice", "history")
    assert list(table(at)["run"]) == newest_first[:50]
    assert "1–50 of 120" in [c.value for c in at.caption]

    at.number_input(key="history_page").set_value(3).run()
    assert list(table(at)["run"]) == newest_first[100:]
    assert "101–120 of 120" in [c.value for c in at.caption]

    at.multiselect(key="history_status").select("completed").run()  # new filter: page 1
    assert at.number_input(key="history_page").value == 1


def test_run_in_url_shows_transcript_and_downloads(seed, logged_in, downloaded):
    run = seed("alice", topic="Cats or dogs?", turns=3, contents=["=1+1", 'Meow, "quoted"\nline'])
    at = logged_in("alice", "history")
    at.query_params["run"] = run.id
    at.run()
    assert not at.exception
    assert [m.name for m in at.chat_message] == ["Ann", "Bob", "Ann"]
    assert {"download_json", "download_csv", "download_jsonl", "download_md"} <= {
        b.key for b in at.download_button
    }

    file = downloaded(at, "download_json")
    assert file.filename == f"duet-{run.id}.json"
    doc = json.loads(file.content)
    assert doc["schema"] == SCHEMA
    assert doc["run"]["id"] == run.id and doc["run"]["created_by"] == "alice"
    assert [t["content"] for t in doc["turns"]] == ["=1+1", 'Meow, "quoted"\nline', "Reply 3"]

    file = downloaded(at, "download_csv")
    assert file.filename == f"duet-{run.id}.csv"
    rows = pd.read_csv(io.BytesIO(file.content), keep_default_na=False)
    assert tuple(rows.columns) == CSV_COLUMNS
    assert list(rows["content"]) == ["=1+1", 'Meow, "quoted"\nline', "Reply 3"]
    assert list(rows["run_id"]) == [run.id] * 3

    at.toggle(key="csv_spreadsheet_safe").set_value(True).run()
    rows = pd.read_csv(io.BytesIO(downloaded(at, "download_csv").content))
    assert rows["content"][0] == "'=1+1"


def test_run_detail_has_charts_and_header(seed, logged_in):
    run = seed("alice", turns=4, status=RunStatus.ERROR, stop_reason="error", error="Boom: fix it")
    at = logged_in("alice", "history")
    at.query_params["run"] = run.id
    at.run()
    assert "Boom: fix it" in [e.value for e in at.error]
    assert [t.label for t in at.tabs] == [TRANSCRIPT_TAB, CHARTS_TAB]
    assert len(at.chat_message) == 4  # the transcript tab is open...
    assert not [e for e in at.main if e.type == "vega_lite_chart"]  # ...the charts not drawn

    at.session_state[VIEW_KEY] = CHARTS_TAB  # as a click on the tab does
    at.run()
    assert not at.exception
    assert "Boom: fix it" in [e.value for e in at.error]  # the header stays
    charts = [e for e in at.main if e.type == "vega_lite_chart"]
    assert len(charts) == 2  # output tokens; latency and TTFT
    assert not at.chat_message  # now the transcript is the tab not drawn


def test_another_users_run_is_denied(seed, logged_in):
    theirs = seed("bob", topic="Bob's secret", contents=["classified"])
    at = logged_in("alice", "history")
    at.query_params["run"] = theirs.id
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "Access denied: this run is not yours or does not exist."
    ]
    assert not at.chat_message
    assert all(b.key not in ("download_json", "download_csv") for b in at.download_button)
    assert "classified" not in str(at.main)

    at.query_params["run"] = "nosuchrun"
    at.run()
    assert [e.value for e in at.error] == [
        "Access denied: this run is not yours or does not exist."
    ]


def test_admin_may_open_any_run(seed, logged_in):
    theirs = seed("bob")
    at = logged_in("admin", "history")
    at.query_params["run"] = theirs.id
    at.run()
    assert not at.error
    assert len(at.chat_message) == 2


def test_delete_needs_confirmation(seed, store, logged_in):
    run = seed("alice")
    keep = seed("alice", created_at=T0 - timedelta(days=1))
    at = logged_in("alice", "history")
    at.query_params["run"] = run.id
    at.run()
    assert at.button(key="delete_run").disabled
    at.checkbox(key="confirm_delete").check().run()
    at.button(key="delete_run").click().run()
    assert not at.exception
    assert store.get_run(run.id) is None
    assert store.get_run(keep.id) is not None
    assert list(table(at)["run"]) == [keep.id]
    assert "run" not in at.query_params
    assert not at.chat_message


def test_continue_a_stopped_run_goes_to_the_conversation(seed, store, logged_in):
    run = seed("alice", turns=2, status=RunStatus.STOPPED, stop_reason="user")
    done = seed("alice", turns=2)
    at = logged_in("alice", "history")
    at.query_params["run"] = done.id
    at.run()
    assert "continue_run" not in [b.key for b in at.button]

    at.query_params["run"] = run.id
    at.run()
    at.button(key="continue_run").click().run()
    assert not at.exception
    assert at.query_params["run"] == run.id
    assert ":material/history: History" not in [
        t.value for t in at.title
    ]  # on the conversation page now
    live = services().manager.get(run.id)
    assert live is not None
    assert live.join(timeout=10)
    assert store.get_run(run.id).status is RunStatus.COMPLETED


def test_bulk_downloads_are_built_lazily_from_all_filtered_runs(seed, store, logged_in):
    runs = [seed("alice", created_at=T0 + timedelta(minutes=i)) for i in range(3)]
    seed("bob")
    at = logged_in("alice", "history")
    for key in ("download_all_csv", "download_all_json"):
        button = at.download_button(key=key).proto
        assert button.deferred_file_id and not button.url  # built on click, not every rerun
        assert button.ignore_rerun

    # what those buttons build: every matching run of the viewer, not only this page
    from duet_ui.history import data as hd
    from duet_ui.shell.services import Viewer

    query = hd.run_query(Viewer("alice", "Alice", ("user",)), hd.Filters(), page=2)
    rows = pd.read_csv(io.StringIO(hd.bulk_csv(store, query)()))
    assert set(rows["run_id"]) == {r.id for r in runs}
    assert len(rows) == 6
    docs = json.loads(hd.bulk_json(store, query)())
    assert [d["run"]["id"] for d in docs] == [r.id for r in reversed(runs)]


def test_continue_error_is_shown_without_traceback(seed, logged_in, monkeypatch):
    run = seed("alice", status=RunStatus.INTERRUPTED, stop_reason="interrupted")
    at = logged_in("alice", "history")
    at.query_params["run"] = run.id
    at.run()
    from duet_core.errors import RunLimitError

    def refuse(*args, **kwargs):
        raise RunLimitError("Too many runs; try again in 30 s.")

    monkeypatch.setattr(services().manager, "continue_run", refuse)
    at.button(key="continue_run").click().run()
    assert not at.exception
    assert "Too many runs; try again in 30 s." in [e.value for e in at.error]


def test_a_link_to_a_run_shows_it_alone_then_all_runs(seed, logged_in):
    """Opened at ``?run=`` from another page (the conversation page's "Open in History", a
    bookmark), History shows that run alone, without the runs table; "All runs" goes back to
    the list. A run opened from the list is shown under it."""
    run = seed("alice", topic="Cats or dogs?", turns=3)
    later = seed("alice", topic="Tea or coffee?", created_at=T0 + timedelta(days=1))
    at = logged_in("alice")  # on the conversation page
    at.query_params["run"] = run.id
    at.switch_page("app_pages/history.py").run()
    assert not at.exception
    assert not at.dataframe  # no runs table
    assert len(at.chat_message) == 3
    assert at.query_params["run"] == run.id
    assert "download_csv" in [b.key for b in at.download_button]
    assert at.toggle(key="csv_spreadsheet_safe") is not None

    at.session_state[VIEW_KEY] = CHARTS_TAB  # a rerun of the run alone stays so
    at.run()
    assert not at.dataframe
    assert [e for e in at.main if e.type == "vega_lite_chart"]

    at.button(key="all_runs").click().run()
    assert not at.exception
    assert "run" not in at.query_params
    assert list(table(at)["run"]) == [later.id, run.id]
    assert not at.chat_message

    at.query_params["run"] = run.id  # as a click on its row sets it
    at.session_state[VIEW_KEY] = TRANSCRIPT_TAB
    at.run()
    assert list(table(at)["run"]) == [later.id, run.id]  # the list stays, the run under it
    assert len(at.chat_message) == 3


def select(at, rows=(), cells=()):
    """Set the table's selection as the browser sends it (rows ticked, a cell clicked)."""
    at.session_state[TABLE_KEY] = {
        "selection": {"rows": list(rows), "columns": [], "cells": [list(c) for c in cells]}
    }
    return at.run()


def test_a_click_on_a_row_opens_its_run_and_ticking_rows_keeps_it_open(seed, logged_in):
    """A click on any cell of a row opens that run under the list (a cell selection, taken
    at once); ticking rows for Compare leaves it open; Close closes it, the ticks stay."""
    runs = [seed("alice", topic=f"Topic {i}", turns=2, created_at=T0 - timedelta(hours=i))
            for i in range(3)]  # fmt: skip
    at = logged_in("alice", "history")
    assert not at.chat_message and "run" not in at.query_params
    assert list(table(at)["run"]) == [r.id for r in runs]

    select(at, cells=[(1, "topic")])  # a click on the second row's topic
    assert not at.exception
    assert at.query_params["run"] == runs[1].id
    assert [m.name for m in at.chat_message] == ["Ann", "Bob"]
    assert "Topic 1" in [s.value for s in at.subheader]
    assert at.session_state[TABLE_KEY]["selection"]["cells"] == []  # the click is taken

    select(at, rows=[0])  # ticking a row to compare does not close the run being read
    assert at.query_params["run"] == runs[1].id
    assert len(at.chat_message) == 2
    select(at, rows=[0, 2])
    assert at.query_params["run"] == runs[1].id and len(at.chat_message) == 2
    links = [e for e in at.main if e.type == "page_link"]
    assert any(link.proto.label == "Compare these 2 runs" for link in links)

    at.button(key="close_run").click().run()
    assert "run" not in at.query_params and not at.chat_message
    assert list(table(at)["run"]) == [r.id for r in runs]

    select(at, rows=[0, 2], cells=[(2, "status")])  # another run, the ticks kept
    assert at.query_params["run"] == runs[2].id
    assert sorted(at.session_state[TABLE_KEY]["selection"]["rows"]) == [0, 2]


def test_ticks_follow_their_runs_when_the_rows_move(seed, store, logged_in):
    """A run deleted from the list: the runs ticked keep their ticks, on their new rows."""
    runs = [seed("alice", topic=f"Topic {i}", created_at=T0 - timedelta(hours=i))
            for i in range(3)]  # fmt: skip
    at = logged_in("alice", "history")
    select(at, cells=[(0, "topic")])
    select(at, rows=[1, 2])
    at.checkbox(key="confirm_delete").check().run()
    at.button(key="delete_run").click().run()
    assert not at.exception
    assert store.get_run(runs[0].id) is None
    assert list(table(at)["run"]) == [runs[1].id, runs[2].id]
    assert sorted(at.session_state[TABLE_KEY]["selection"]["rows"]) == [0, 1]


def test_a_search_with_no_match_says_so_in_words(seed, logged_in):
    seed("alice", topic="Cats or dogs?")
    at = logged_in("alice", "history")
    at.text_input(key="history_search").input("zebra").run()
    assert not at.exception
    assert not at.dataframe
    assert [i.value for i in at.info] == ["No runs match these filters."]
    assert not [e for e in at.main if e.type == "expander"]  # no "Export all 0 runs"
    assert "Export all" not in str(at.main)


def test_the_list_shows_what_matters_first_and_unknown_cost_as_a_dash(seed, logged_in):
    seed("alice", topic="Cut short", status=RunStatus.STOPPED, stop_reason="user")
    at = logged_in("admin", "history")
    proto = at.dataframe(key=TABLE_KEY).proto
    assert list(proto.column_order)[:5] == ["topic", "status", "turns", "tokens", "cost (USD)"]
    assert list(proto.column_order)[-2:] == ["owner", "run"]
    assert proto.placeholder == "—"  # a missing value (a cost not known) is never "None"


def test_a_delete_says_what_went_and_undo_brings_it_back(seed, store, logged_in):
    run = seed("alice", topic="Cats or dogs?", turns=3, contents=["one", "two", "three"])
    at = logged_in("alice", "history")
    at.query_params["run"] = run.id
    at.run()
    at.checkbox(key="confirm_delete").check().run()
    at.button(key="delete_run").click().run()
    assert not at.exception
    assert store.get_run(run.id) is None
    assert [s.value for s in at.success] == ["Deleted “Cats or dogs?” (3 turns)."]

    at.button(key="undo_delete").click().run()
    assert not at.exception
    back = store.get_run(run.id)
    assert back is not None and [t.content for t in back.turns] == ["one", "two", "three"]
    assert back.status == run.status and back.owner == "alice"
    assert back.config == run.config
    assert list(table(at)["run"]) == [run.id]
    assert at.query_params["run"] == run.id and len(at.chat_message) == 3  # open again
    assert not at.success

    at.checkbox(key="confirm_delete").check().run()
    at.button(key="delete_run").click().run()
    at.button(key="dismiss_deleted").click().run()
    assert not at.success and store.get_run(run.id) is None


def test_no_runs_yet_says_where_to_start(seed, logged_in):
    seed("bob")  # someone else's
    at = logged_in("alice", "history")
    assert not at.exception and not at.dataframe
    assert [i.value for i in at.info] == ["No runs yet: start one on the Conversation page."]
    assert "Export all" not in str(at.main)
