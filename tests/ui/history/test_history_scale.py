"""History at scale: reruns reuse the listing, a run's files are made only on click, a long
run draws its last turns, big exports run in the background, and runs compare side by side."""

from __future__ import annotations

import gzip
import io
import json
from datetime import UTC, datetime, timedelta

import pandas as pd

from duet_core.store import Store
from duet_ui.history import data as hd
from duet_ui.history import export as history_export
from duet_ui.history import pick as hp
from duet_ui.history.run import CHARTS_TAB, SHOW_LAST, TRANSCRIPT_TAB, VIEW_KEY
from tests.ui.conftest import bot
from tests.ui.turn_text import turn_texts

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_a_rerun_that_keeps_the_query_asks_the_database_nothing(seed, logged_in, monkeypatch):
    seed("alice")
    calls = []
    list_runs = Store.list_runs
    monkeypatch.setattr(Store, "list_runs", lambda s, q=None: calls.append(q) or list_runs(s, q))
    at = logged_in("alice", "history")
    assert len(calls) == 1
    at.toggle(key="csv_spreadsheet_safe").set_value(True).run()  # any rerun, same query
    assert len(calls) == 1
    at.text_input(key="history_search").input("cats").run()  # a new query is read
    assert len(calls) == 2 and calls[-1].search == "cats"


def test_run_files_are_made_on_click_pdf_included(seed, logged_in, downloaded):
    run = seed("alice", topic="Cats or dogs?", turns=2)
    at = logged_in("alice", "history")
    at.query_params["run"] = run.id
    at.run()
    keys = ("download_json", "download_csv", "download_jsonl", "download_md", "download_pdf")
    for key in keys:
        proto = at.download_button(key=key).proto
        assert proto.deferred_file_id and not proto.url, key
    pdf = downloaded(at, "download_pdf")
    assert pdf.filename == f"duet-{run.id}.pdf" and pdf.content.startswith(b"%PDF")


def test_a_long_run_draws_its_last_turns_until_asked_for_all(seed, logged_in):
    run = seed("alice", turns=SHOW_LAST + 5)
    at = logged_in("alice", "history")
    at.query_params["run"] = run.id
    at.run()
    assert len(at.chat_message) == SHOW_LAST
    assert turn_texts(at.chat_message[-1]) == [f"Reply {SHOW_LAST + 5}"]
    at.toggle(key="history_show_all_turns").set_value(True).run()
    assert len(at.chat_message) == SHOW_LAST + 5


def _chart_data(chart) -> pd.DataFrame:
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    return convert_arrow_bytes_to_pandas_df(chart.proto.data.data)


def test_charts_are_drawn_only_in_their_tab_with_the_runs_numbers(seed, logged_in):
    run = seed("alice", turns=SHOW_LAST + 3)
    at = logged_in("alice", "history")
    at.query_params["run"] = run.id
    at.run()
    assert not [e for e in at.main if e.type == "vega_lite_chart"]
    assert len(at.chat_message) == SHOW_LAST

    at.session_state[VIEW_KEY] = CHARTS_TAB
    at.run()
    tokens, timings = [e for e in at.main if e.type == "vega_lite_chart"]
    data = _chart_data(tokens)
    assert list(data["turn"]) == list(range(1, SHOW_LAST + 4))  # every turn, not the last 40
    assert list(data["output tokens"]) == [20 + i for i in range(SHOW_LAST + 3)]  # as seeded
    assert list(data["bot"][:2]) == ["Ann", "Bob"]
    assert json.loads(tokens.proto.spec)["mark"]["type"] == "bar"
    data = _chart_data(timings)
    ann = data[data["bot"] == "Ann"]
    assert list(ann["latency (ms)"][:2]) == [900.0, 902.0]  # turns 1 and 3 are Ann's
    assert list(ann["TTFT (ms)"][:2]) == [100.0, 102.0]  # on its own axis
    assert len(data) == SHOW_LAST + 3  # latency and TTFT of every turn

    at.session_state[VIEW_KEY] = TRANSCRIPT_TAB  # back: the turns again, no charts
    at.run()
    assert len(at.chat_message) == SHOW_LAST
    assert not [e for e in at.main if e.type == "vega_lite_chart"]


def test_a_run_without_bot_turns_says_so_in_the_charts_tab(seed, logged_in):
    run = seed("alice", turns=0)
    at = logged_in("alice", "history")
    at.query_params["run"] = run.id
    at.session_state[VIEW_KEY] = CHARTS_TAB
    at.run()
    assert not at.exception
    assert "No bot turns to chart yet." in [c.value for c in at.caption]


def test_a_saved_turn_has_its_figures_on_the_names_line(seed, store, logged_in):
    run = seed("alice", turns=2, contents=["**Bold** claim", "Reply 2"])
    at = logged_in("alice", "history")
    at.query_params["run"] = run.id
    at.run()
    first = at.chat_message[0]
    (head,) = (m.value for m in first.markdown)
    (content,) = (h.value for h in first.get("html"))
    assert head.startswith("**:blue[Ann]** :gray[:small[")  # name, then the figures
    for figure in ("duet\\-demo", "temperature 0\\.7", "tokens 10 in / 20 out", "TTFT 100 ms",
                   "latency 900 ms", "$0"):  # fmt: skip
        assert figure in head, figure
    assert "<strong>Bold</strong> claim" in content  # the model's markdown, drawn
    assert not first.caption  # no caption below: three elements a turn, not four


def test_turn_header_without_figures_is_the_name_alone():
    from duet_core.models import Turn
    from duet_ui.history.run import turn_header

    person = Turn(index=0, bot_index=None, bot_name="", content="Hi")
    assert turn_header(person) == "**:gray[Person]**"


def test_a_big_export_runs_in_the_background_and_offers_the_file(
    seed, store, logged_in, downloaded, monkeypatch
):
    runs = [seed("alice", created_at=T0 + timedelta(minutes=i)) for i in range(3)]
    seed("bob")
    monkeypatch.setattr(hd, "BULK_INLINE_TURNS", 1)  # every export counts as big here
    at = logged_in("alice", "history")
    assert not [b for b in at.download_button if b.key.startswith("download_all")]

    at.toggle(key="export_compress").set_value(True).run()
    at.button(key="export_start_csv").click().run()
    job = history_export.export_jobs().get("alice")
    assert job is not None and job.wait(30) and job.state == "done", job
    at.run()
    file = downloaded(at, "download_export_file")
    assert file.filename == "duet-runs.csv.gz"
    rows = pd.read_csv(io.BytesIO(gzip.decompress(file.content)))
    assert set(rows["run_id"]) == {r.id for r in runs} and len(rows) == 6

    at.toggle(key="export_compress").set_value(False).run()
    at.button(key="export_start_jsonl").click().run()
    job = history_export.export_jobs().get("alice")
    assert job.wait(30) and job.state == "done"
    at.run()
    lines = downloaded(at, "download_export_file").content.decode().splitlines()
    assert [json.loads(x)["run"]["id"] for x in lines] == [r.id for r in reversed(runs)]

    path = job.path
    at.button(key="export_discard").click().run()
    assert history_export.export_jobs().get("alice") is None and not path.exists()
    assert "download_export_file" not in [b.key for b in at.download_button]


def test_compare_shows_totals_settings_turns_side_by_side_and_shared_charts(seed, logged_in):
    a = seed("alice", topic="Tea?", turns=4)
    persona = "A long persona. " * 10
    warm = (
        bot("Ann", temperature=1.2, system_prompt=persona),
        bot("Bob", temperature=0.7),
    )
    b = seed("alice", topic="Coffee?", turns=2, bots=warm)
    theirs = seed("bob", topic="Secret")
    at = logged_in("alice", "compare")
    assert [i.value for i in at.info] == ["Tick 2–4 rows in History, then press Compare."]

    at.query_params["runs"] = f"{a.id},{b.id},{theirs.id}"
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        f"{theirs.id}: Access denied: this run is not yours or does not exist."
    ]
    totals = at.table[0].value  # one column per run: nothing cut off
    assert list(totals.columns) == [f"#1 {a.id}", f"#2 {b.id}"]
    assert totals.loc["turns"].tolist() == ["4", "2"]
    assert totals.loc["output tokens"].tolist() == [str(20 + 21 + 22 + 23), str(20 + 21)]
    assert "mean TTFT" in totals.index and "mean latency" in totals.index

    settings = at.table[1].value  # each bot's runs side by side; what differs marked
    assert list(settings.columns) == [f"#1 {a.id} · Ann", f"#2 {b.id} · Ann",
                                      f"#1 {a.id} · Bob", f"#2 {b.id} · Bob"]  # fmt: skip
    assert settings.loc["temperature ≠"].tolist() == ["0.7", "1.2", "0.7", "0.7"]
    assert "model" in settings.index  # the same everywhere: no mark
    assert settings.loc["system_prompt ≠"].iloc[1] == persona.strip()

    # the conversations turn by turn: turn i of each run on one row
    turns = [c.value for c in at.caption if c.value.startswith("Turn ")]
    assert turns == [f"Turn {i} · #{j}" for i in range(1, 5) for j in (1, 2)]
    assert [m.name for m in at.chat_message] == ["Ann", "Ann", "Bob", "Bob", "Ann", "Bob"]
    charts = [e for e in at.main if e.type == "vega_lite_chart"]
    assert len(charts) == 4  # output tokens, latency, TTFT, cost: each with every run


def test_compare_ids_and_picked_rows():
    assert hp.compare_ids(" a, b,,a ,c,d,e ") == ["a", "b", "c", "d"]
    assert hp.picked_runs([2, 0, 9], ["x", "y", "z"]) == ["x", "z"]
