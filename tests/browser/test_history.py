"""History in a real browser: a big export in the background offers its file; picked runs
open the compare view; a long run draws its last turns; its charts are drawn when their tab
is opened."""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Page, expect

from duet_core.models import BotConfig, Run, RunConfig, RunStatus, Turn, utcnow
from duet_core.store import Store
from duet_ui.history.data import BULK_INLINE_TURNS
from duet_ui.history.run import VIEW_KEY
from tests.browser import ui
from tests.browser.conftest import AppServer

pytestmark = pytest.mark.browser
RUNS, TURNS = 21, 100  # more turns than an export builds on click: a background job


@pytest.fixture(scope="module")
def history_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    tmp = tmp_path_factory.mktemp("history")
    url = f"sqlite:///{tmp / 'duet.db'}"
    bots = [BotConfig(name="Ada", temperature=0.7), BotConfig(name="Bo", temperature=1.0)]
    with Store(url) as store:
        for r in range(RUNS):
            start = utcnow() - timedelta(hours=RUNS - r)
            run = Run(
                owner="dev",
                config=RunConfig(topic=f"Topic {r}", max_turns=TURNS, bots=bots),
                status=RunStatus.COMPLETED,
                created_at=start,
                finished_at=start + timedelta(minutes=5),
            )
            run.turns = [
                Turn(index=i, bot_index=i % 2, bot_name=bots[i % 2].name, config=bots[i % 2],
                     content=f"Run {r} turn {i + 1}, said plainly.", started_at=start,
                     finished_at=start, output_tokens=10 + i, latency_ms=500.0 + i)
                for i in range(TURNS)
            ]  # fmt: skip
            store.create_run(run)
    assert RUNS * TURNS > BULK_INLINE_TURNS
    server = AppServer({"DUET_DEV_MODE": "1", "DUET_DATABASE_URL": url}, tmp / "streamlit.log")
    server.start()
    yield server
    server.stop()


def open_history(page: Page, server: AppServer, query: str = "") -> None:
    page.goto(f"{server.url}/history{query}")
    if "run=" in query:  # a link to one run: that run alone, no runs table
        expect(page.locator(ui.key("all_runs"))).to_be_visible()
    else:
        expect(page.get_by_text(f"of {RUNS}", exact=False).first).to_be_visible()
    ui.wait_idle(page)


def test_a_big_export_runs_in_the_background_then_downloads(
    page: Page, history_server: AppServer
) -> None:
    open_history(page, history_server)
    page.get_by_text("Export all 21 filtered runs").click()
    page.locator(ui.key("export_start_csv")).get_by_role("button").click()
    button = page.locator(ui.key("download_export_file")).get_by_role("button")
    expect(button).to_be_visible(timeout=60_000)
    expect(button).to_contain_text("duet-runs.csv.gz")
    with page.expect_download() as info:
        button.click()
    data = gzip.decompress(Path(info.value.path()).read_bytes())
    rows = pd.read_csv(io.BytesIO(data))
    assert len(rows) == RUNS * TURNS
    assert rows["content"].iloc[0] == f"Run {RUNS - 1} turn 1, said plainly."


def test_a_long_run_opens_with_its_last_turns(page: Page, history_server: AppServer) -> None:
    with Store(history_server.env["DUET_DATABASE_URL"]) as store:
        run_id = store.list_runs().items[0].id
    open_history(page, history_server, f"?run={run_id}")
    expect(page.get_by_text(f"Run {RUNS - 1} turn {TURNS}, said plainly.")).to_be_visible()
    expect(page.get_by_text(f"Run {RUNS - 1} turn 1, said plainly.")).to_have_count(0)
    page.locator(ui.key("history_show_all_turns")).get_by_text("earlier turns").click()
    expect(page.get_by_text(f"Run {RUNS - 1} turn 1, said plainly.")).to_be_visible()


def test_the_charts_tab_draws_the_charts_and_the_transcript_tab_the_turns(
    page: Page, history_server: AppServer
) -> None:
    with Store(history_server.env["DUET_DATABASE_URL"]) as store:
        run_id = store.list_runs().items[0].id
    open_history(page, history_server, f"?run={run_id}")
    last_turn = page.get_by_text(f"Run {RUNS - 1} turn {TURNS}, said plainly.")
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    expect(last_turn).to_be_visible()
    expect(charts).to_have_count(0)  # not drawn until asked

    tabs = page.locator(ui.key(VIEW_KEY))
    tabs.get_by_role("tab", name="Charts").click()
    expect(charts).to_have_count(2)
    expect(charts.first.locator("canvas, svg").first).to_be_visible()  # Vega drew it
    expect(page.get_by_text("Output tokens per turn")).to_be_visible()
    expect(last_turn).to_have_count(0)

    tabs.get_by_role("tab", name="Transcript").click()
    expect(last_turn).to_be_visible()
    expect(charts).to_have_count(0)


ROW = 35  # px: the table's header and each row


def click_cell(page: Page, row: int, x: float) -> None:
    """A click ``x`` px from the table's left edge, in row ``row`` (0: the first run)."""
    table = page.locator(ui.key("history_table"))
    table.scroll_into_view_if_needed()
    box = table.bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + ROW + ROW * row + ROW / 2)


def test_a_click_on_a_row_opens_its_run_and_ticking_rows_keeps_it_open(
    page: Page, history_server: AppServer
) -> None:
    open_history(page, history_server)
    expect(page.locator(ui.key("history_table")).locator("canvas").first).to_be_visible()
    click_cell(page, 1, 150)  # the second run's topic (newest first: Topic 19)
    opened = page.locator(ui.key("history_opened_run"))
    heading = opened.get_by_role("heading", name=f"Topic {RUNS - 2}")
    expect(heading).to_be_in_viewport()  # brought into view, no scrolling by the test
    expect(page.get_by_text(f"Run {RUNS - 2} turn {TURNS}, said plainly.")).to_be_visible()
    run = ui.run_id(page)
    assert run is not None

    ui.wait_idle(page)
    click_cell(page, 2, 15)  # tick two other rows to compare them
    expect(page.get_by_text("Compare these", exact=False)).to_have_count(0)
    ui.wait_idle(page)
    click_cell(page, 3, 15)
    expect(page.get_by_role("link", name="Compare these 2 runs")).to_be_visible()
    expect(heading).to_be_visible()  # the run being read is still open
    assert ui.run_id(page) == run

    opened.locator(ui.key("close_run")).get_by_role("button").click()
    expect(opened).to_have_count(0)
    expect(page.get_by_role("link", name="Compare these 2 runs")).to_be_visible()
    ui.wait_idle(page)
    click_cell(page, 1, 150)  # the same run opens again with a click
    expect(page.locator(ui.key("history_opened_run")).get_by_role("heading")).to_contain_text(
        f"Topic {RUNS - 2}"
    )


def test_compare_shows_the_two_conversations_side_by_side(
    page: Page, history_server: AppServer
) -> None:
    with Store(history_server.env["DUET_DATABASE_URL"]) as store:
        first, second = (r.id for r in store.list_runs().items[:2])
    page.goto(f"{history_server.url}/compare?runs={first},{second}")
    one = page.get_by_text("Turn 1 · #1", exact=True)
    two = page.get_by_text("Turn 1 · #2", exact=True)
    expect(page.get_by_text("mean TTFT")).to_be_visible()  # nothing of the totals cut off
    expect(one).to_be_visible()
    expect(two).to_be_visible()
    ui.wait_idle(page)  # the page drawn: nothing moves any more
    a, b = one.bounding_box(), two.bounding_box()
    assert abs(a["y"] - b["y"]) < 2 and b["x"] > a["x"] + 200  # one row, two columns
    expect(page.get_by_text(f"Run {RUNS - 1} turn 1, said plainly.")).to_be_visible()
    expect(page.get_by_text(f"Run {RUNS - 2} turn 1, said plainly.")).to_be_visible()
