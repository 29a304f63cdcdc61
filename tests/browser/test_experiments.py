"""The Experiments page in a real browser: an experiment started on the page (from a pasted
file, bots on the fake LLM) shows its progress live, is paused and resumed, and its results
table opens a run."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser import ui
from tests.browser.conftest import AppServer, dev_server
from tests.browser.fake_llm import FakeLLM

pytestmark = pytest.mark.browser
ROW = 35  # px: a table's header and each row

EXPERIMENT = """name: browser sweep
run:
  topic: Should cities ban private cars?
  max_turns: 2
  bots:
    - {name: Ada, provider: openai, model: gpt-4.1-mini}
    - {name: Bo, provider: openai, model: gpt-4.1-mini}
repeats: 3
concurrency: 1
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, fake_llm: FakeLLM) -> Iterator[AppServer]:
    app = dev_server(tmp_path_factory.mktemp("experiments"), fake_llm).start()
    yield app
    app.stop()


def finished(n: int, of: int = 3) -> re.Pattern[str]:
    return re.compile(rf"\b{n} of {of} finished")


def test_an_experiment_runs_live_pauses_resumes_and_opens_a_run(page: Page, server: AppServer):
    page.goto(f"{server.url}/experiments")
    expect(page.get_by_text("No experiments yet")).to_be_visible()
    page.get_by_test_id("stButtonGroup").get_by_text("File", exact=True).click()
    page.locator(ui.key("exp_text")).locator("textarea").fill(EXPERIMENT)
    page.locator(ui.key("exp_text")).locator("textarea").press("Control+Enter")
    expect(page.get_by_text("3 runs, 6 turns", exact=False)).to_be_visible()
    page.locator(ui.key("exp_start")).get_by_role("button").click()

    progress = page.locator(ui.key("exp_progress"))
    expect(progress).to_contain_text("1 running")  # drawn live: no reload from here on
    expect(progress).to_contain_text(finished(1))  # the first run finished, the bar moved
    ui.wait_idle(page)
    page.locator(ui.key("exp_pause")).get_by_role("button").click()
    expect(progress).to_contain_text("paused")
    # the run going on finishes; nothing else starts while paused
    expect(progress).to_contain_text("0 running", timeout=30_000)
    text = progress.inner_text()
    done = int(re.search(r"(\d) of 3 finished", text).group(1))
    assert done < 3 and f"{3 - done} queued" in text

    page.locator(ui.key("exp_resume")).get_by_role("button").click()
    expect(progress).to_contain_text("running")
    expect(progress).to_contain_text(finished(3), timeout=60_000)
    expect(progress).to_contain_text("completed")

    table = page.locator(ui.key("experiment_runs"))
    expect(table.locator("canvas").first).to_be_visible()
    opened = page.locator(ui.key("experiment_opened_run"))
    for attempt in range(3):  # a page redraw that lands at the click can swallow it
        ui.wait_idle(page)
        table.scroll_into_view_if_needed()
        box = table.bounding_box()
        page.mouse.click(box["x"] + 40, box["y"] + ROW + ROW / 2)  # the first run's row
        try:
            expect(opened).to_be_visible(timeout=5_000)
            break
        except AssertionError:
            if attempt == 2:
                raise
    expect(opened.get_by_role("heading").first).to_contain_text("Should cities ban private cars?")
    expect(opened.get_by_text(re.compile(r"Reply\d+ from gpt-4.1-mini")).first).to_be_visible()
