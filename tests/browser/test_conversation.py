"""The conversation page in a real browser: live tokens, Stop, reload, mid-run settings."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from duet_core.exports.transcript import CSV_COLUMNS
from duet_core.models import BotConfig, RunConfig
from tests.browser import ui
from tests.browser.conftest import AppServer
from tests.browser.fake_llm import FakeLLM

pytestmark = pytest.mark.browser


@pytest.fixture
def stop_after(page: Page):
    """Stop whatever run the page shows when the test ends, so runs do not pile up."""
    yield
    stop = page.locator(ui.key("stop")).get_by_role("button")
    if not page.is_closed() and stop.count():
        stop.click()


def test_tokens_arrive_while_running_then_stop(page: Page, app_server: AppServer) -> None:
    ui.open_app(page, app_server.url)
    run = ui.start(page)
    turn = ui.live_turn(0)
    first = ui.wait_text_grows(page, turn, 0)
    second = ui.wait_text_grows(page, turn, first)
    assert second > first
    expect(ui.header(page)).to_contain_text("running")
    expect(ui.header(page)).to_contain_text("Turn 1 of 6")

    page.locator(ui.key("stop")).get_by_role("button").click()
    expect(ui.header(page)).to_contain_text("stopped")
    expect(
        page.get_by_text(re.compile(r"· stopped$"))
    ).to_be_visible()  # the partial turn, kept and marked
    expect(page.locator(ui.live_turn())).to_have_count(0)
    expect(page.locator(ui.key("start")).get_by_role("button")).to_be_enabled()
    assert ui.run_id(page) == run


def test_reload_mid_run_reattaches(page: Page, app_server: AppServer, stop_after) -> None:
    ui.open_app(page, app_server.url)
    run = ui.start(page)
    ui.wait_text_grows(page, ui.live_turn(), 0)

    page.reload()
    expect(ui.header(page)).to_contain_text("running")
    assert ui.run_id(page) == run
    now = ui.wait_text_grows(page, ui.live_turn(), 0)
    ui.wait_text_grows(page, ui.live_turn(), now)  # still streaming after the reload
    assert ui.run_id(page) == run
    # the setup of the run is shown again in the reloaded session
    expect(page.locator(ui.key("bot0_name")).locator("input")).to_have_value("Ada")


def test_mid_run_temperature_and_effort_apply_from_next_turn(
    page: Page, app_server: AppServer, fake_llm: FakeLLM
) -> None:
    fake_llm.delay = 0.15  # about four seconds a turn: time to change settings mid-turn
    ui.open_app(page, app_server.url)
    ui.select_option(page, "bot0_provider", "OpenAI")
    expect(ui.combobox(page, "bot0_model")).to_have_value("gpt-4.1-mini")
    ui.select_option(page, "bot1_provider", "Anthropic")
    expect(ui.combobox(page, "bot1_model")).to_have_value("claude-sonnet-5-5")
    # an Anthropic bot offers no temperature, and says why
    expect(page.locator(ui.key("bot1_temperature")).get_by_role("slider")).to_be_disabled()
    expect(page.get_by_text("Anthropic's current API does not accept temperature")).to_be_visible()
    ui.set_number(page, "max_turns", 4)
    openai_before = len(fake_llm.bodies("/chat/completions"))
    anthropic_before = len(fake_llm.bodies("/messages"))

    ui.start(page)
    ui.wait_text_grows(page, ui.live_turn(1), 0)  # Bob (Anthropic) is speaking
    # Pause holds the run after Bob's turn, so the changes surely land before turn 3
    page.locator(ui.key("pause")).get_by_role("button").click()
    expect(ui.header(page)).to_contain_text("pausing after this turn")
    ui.open_setup(page)  # folded while the run streams
    ui.slide_to(page, "bot0_temperature", 1.3)
    ui.open_more(page, 1)  # effort is among a bot's less used settings
    ui.select_option(page, "bot1_effort", "high")
    expect(page.get_by_text("Changes apply from Ada's next turn.")).to_be_visible()
    expect(page.get_by_text("Changes apply from Bob's next turn.")).to_be_visible()
    expect(ui.header(page)).to_contain_text("paused")
    page.locator(ui.key("resume")).get_by_role("button").click()

    expect(ui.header(page)).to_contain_text("completed", timeout=40_000)
    openai = fake_llm.bodies("/chat/completions")[openai_before:]
    anthropic = fake_llm.bodies("/messages")[anthropic_before:]
    assert [b.get("temperature") for b in openai] == [0.7, 1.3]
    assert [b.get("output_config") for b in anthropic] == [None, {"effort": "high"}]
    assert all("temperature" not in b for b in anthropic)

    expect(page.get_by_text("Ada: temperature 0.7 → 1.3 from turn 3")).to_be_visible()
    expect(page.get_by_text("Bob: effort default → high from turn 4")).to_be_visible()
    expect(page.get_by_text("gpt-4.1-mini · temperature 1.3")).to_be_visible()
    expect(page.get_by_text("claude-sonnet-5-5 · effort high")).to_be_visible()


def test_load_setup_run_then_download_from_history(
    page: Page, app_server: AppServer, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    fake_llm.delay = 0.01
    setup = RunConfig(
        topic="History check",
        max_turns=3,
        bots=[
            BotConfig(name="Olga", provider="openai", model="gpt-4o-mini", temperature=0.4),
            BotConfig(name="Ivan", provider="openai", model="gpt-4o-mini", temperature=0.9),
        ],
    )
    file = tmp_path / "setup.json"
    file.write_text(setup.dump_json())
    ui.open_app(page, app_server.url)
    page.get_by_role("button", name="Load setup").click()
    page.locator(ui.key("load_setup")).locator("input[type=file]").set_input_files(file)
    expect(page.get_by_text("Loaded setup.json.")).to_be_visible()
    expect(page.locator(ui.key("bot1_name")).locator("input")).to_have_value("Ivan")

    run = ui.start(page)
    expect(ui.header(page)).to_contain_text("completed")
    page.get_by_role("link", name="Open in History").click()
    expect(page.locator(ui.key("download_csv")).get_by_role("button")).to_be_visible()
    assert ui.run_id(page) == run

    with page.expect_download() as info:
        page.locator(ui.key("download_csv")).get_by_role("button").click()
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text("utf-8"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [(r["run_id"], r["bot_name"]) for r in rows] == [
        (run, "Olga"),
        (run, "Ivan"),
        (run, "Olga"),
    ]
    assert rows[1]["temperature"] == "0.9"

    with page.expect_download() as info:
        page.locator(ui.key("download_json")).get_by_role("button").click()
    doc = json.loads(Path(info.value.path()).read_text("utf-8"))
    assert doc["schema"] == "duet.transcript/1"
    assert doc["run"]["id"] == run and doc["run"]["status"] == "completed"
    assert [t["bot_name"] for t in doc["turns"]] == ["Olga", "Ivan", "Olga"]
    assert all("api_key" not in json.dumps(b) for b in doc["bots"])

    # the link opened the run alone; "All runs" shows the list, where the run is a row
    expect(page.locator(ui.key("history_table"))).to_have_count(0)
    page.locator(ui.key("all_runs")).get_by_role("button").click()
    expect(page.locator(ui.key("history_table")).locator("canvas").first).to_be_visible()
    expect(page.get_by_text("Tick 2–4 rows to compare them.")).to_be_visible()
    assert ui.run_id(page) is None


@pytest.mark.parametrize("viewport", [(1400, 1000), (390, 844)], ids=["desktop", "phone"])
def test_the_run_bar_stays_in_view_while_the_transcript_grows(
    page: Page, app_server: AppServer, fake_llm: FakeLLM, viewport: tuple[int, int]
) -> None:
    """Pause and Stop, then Resume, then Start and Continue, are on screen at turn 10 and
    after, with no scrolling by the test (``to_be_in_viewport`` never scrolls)."""
    fake_llm.delay = 0.03  # about a second a turn
    ui.open_app(page, app_server.url)
    ui.select_option(page, "bot0_provider", "OpenAI")
    ui.select_option(page, "bot1_provider", "OpenAI")
    ui.set_number(page, "max_turns", 20)
    width, height = viewport
    page.set_viewport_size({"width": width, "height": height})
    ui.start(page)
    expect(ui.header(page)).to_contain_text(re.compile(r"Turn (1\d|20) of 20"), timeout=60_000)

    stop = page.locator(ui.key("stop")).get_by_role("button")
    pause = page.locator(ui.key("pause")).get_by_role("button")
    expect(stop).to_be_in_viewport()
    expect(pause).to_be_in_viewport()
    expect(page.locator(ui.key("interject"))).to_be_in_viewport()
    pause.click()
    expect(ui.header(page)).to_contain_text("paused")
    resume = page.locator(ui.key("resume")).get_by_role("button")
    expect(resume).to_be_in_viewport()
    expect(page.get_by_text("Press Resume (below) to go on.")).to_be_visible()

    stop.click()
    expect(ui.header(page)).to_contain_text("stopped")
    expect(page.locator(ui.key("start")).get_by_role("button")).to_be_in_viewport()
    expect(page.locator(ui.key("start")).get_by_role("button")).to_be_enabled()
    expect(page.locator(ui.key("continue")).get_by_role("button")).to_be_in_viewport()


def test_start_and_stop_from_the_keyboard(page: Page, app_server: AppServer) -> None:
    """Ctrl+Enter starts a run (from the topic box too), Ctrl+Shift+Enter stops it."""
    ui.open_app(page, app_server.url)
    ui.wait_idle(page)
    page.locator(ui.key("topic")).locator("textarea").click()
    page.keyboard.press("Control+Enter")
    page.wait_for_function("() => new URL(location.href).searchParams.get('run') !== null")
    expect(ui.header(page)).to_contain_text("running")
    ui.wait_text_grows(page, ui.live_turn(0), 0)
    ui.wait_idle(page)
    page.keyboard.press("Control+Shift+Enter")
    expect(ui.header(page)).to_contain_text("stopped")


KEY_FIELDS = ("name", "provider", "model", "temperature", "system_prompt")
# Tab presses from page load to Start, besides one per page in the navigation: 35 before the
# setup moved (42 with 7 pages; issue 21), 24 after
TABS_TO_START = 24


def test_setup_of_both_bots_fits_the_first_screen_and_start_is_few_tabs_away(
    page: Page, app_server: AppServer
) -> None:
    ui.open_app(page, app_server.url)  # 1400×1000
    ui.wait_idle(page)
    bar_top = page.locator(ui.key("run_bar")).bounding_box()["y"]
    for bot in (0, 1):
        for field in KEY_FIELDS:
            box = page.locator(ui.key(f"bot{bot}_{field}")).bounding_box()
            assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= bar_top, (
                f"bot{bot}_{field} is not in view above the run bar: {box}, bar at {bar_top}"
            )

    presses = 0
    pages = page.get_by_test_id("stSidebarNav").get_by_role("link").count()
    start = "document.activeElement.closest('.st-key-start') !== null"
    while not page.evaluate(start):
        page.keyboard.press("Tab")
        presses += 1
        assert presses <= pages + TABS_TO_START, (
            f"Start is not focused after {presses} Tab presses ({pages} pages in the navigation)"
        )
    print(f"Tab presses from page load to Start: {presses} ({pages} pages in the navigation)")

    # a phone: the sidebar starts closed, the setup is on the page itself
    phone = page.context.browser.new_context(viewport={"width": 390, "height": 844})
    try:
        small = phone.new_page()
        ui.open_app(small, app_server.url)
        expect(small.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "true")
        name = small.get_by_test_id("stMain").locator(ui.key("bot1_name")).locator("input")
        name.scroll_into_view_if_needed()
        expect(name).to_be_in_viewport()
        expect(name).to_have_value("Bob")
    finally:
        phone.close()
