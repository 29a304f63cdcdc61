"""The live view in a real browser: pushed tokens, mid-turn changes, Stop, a closed tab, and
choices made in the first second of a fresh page."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import ui
from tests.browser.conftest import AppServer
from tests.browser.fake_llm import WORDS, FakeLLM

# what one reply says after "ReplyN from model:" (FakeLLM's default length)
SAID = WORDS[: inspect.signature(FakeLLM).parameters["words"].default]

pytestmark = pytest.mark.browser


def threads(pid: int) -> int:
    """Threads alive in the server process."""
    return len(list(Path(f"/proc/{pid}/task").iterdir()))


def wait_until(page: Page, condition, what: str, timeout_ms: int = 10_000) -> None:
    """Wait on a condition of the server, checking every 50 ms (the browser's clock)."""
    for _ in range(timeout_ms // 50):
        if condition():
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"timed out waiting for {what}")


def setup_openai_bots(page: Page, turns: int) -> None:
    ui.select_option(page, "bot0_provider", "OpenAI")
    ui.select_option(page, "bot1_provider", "OpenAI")
    ui.set_number(page, "max_turns", turns)


def start_streaming(page: Page, url: str, fake_llm: FakeLLM, turns: int) -> tuple[str, int]:
    """Two OpenAI bots on the fake at 20 tokens/s, Start pressed; once the first turn shows
    text: (its selector, its text's length)."""
    fake_llm.delay = 0.05
    ui.open_app(page, url)
    setup_openai_bots(page, turns)
    ui.start(page)
    writing = ui.live_turn(0)
    return writing, ui.wait_text_grows(page, writing, 0)


def test_tokens_are_pushed_and_turns_join_the_transcript(
    page: Page, app_server: AppServer, fake_llm: FakeLLM
) -> None:
    writing, first = start_streaming(page, app_server.url, fake_llm, 3)
    # the text comes by the turn's own stream (duet_ui.conversation.feed), not through the page
    expect(page.locator(f"{writing} .duet-live-text")).to_have_count(1)
    ui.wait_text_grows(page, writing, first)  # still the same turn, growing
    expect(ui.header(page)).to_contain_text("Turn 1 of 3")
    # finished turns join the transcript while the run goes on, and the header follows
    expect(page.locator(ui.key("t0-bot0-turn"))).to_contain_text(" ".join(SAID[-3:]))
    expect(ui.header(page)).to_contain_text("Turn 2 of 3")
    expect(ui.header(page)).to_contain_text("completed", timeout=30_000)
    for i, side in enumerate(("bot0", "bot1", "bot0")):
        expect(page.locator(ui.key(f"t{i}-{side}-turn"))).to_contain_text("Reply")
    expect(page.locator(ui.live_turn())).to_have_count(0)
    expect(page.get_by_text("Finished: the turn limit was reached.")).to_be_visible()


def set_visibility(page: Page, state: str) -> None:
    """The tab hidden or shown, as the browser tells the page when its tab changes."""
    page.evaluate(
        """(state) => {
            const visibility = {configurable: true, get: () => state};
            Object.defineProperty(document, "visibilityState", visibility);
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        state,
    )


def test_a_hidden_tab_gives_back_its_feed_and_catches_up_when_shown(
    page: Page, app_server: AppServer, fake_llm: FakeLLM
) -> None:
    writing, _ = start_streaming(page, app_server.url, fake_llm, 2)
    feeds = "[...window.__duetFeeds.values()].map((f) => f.source !== null)"
    assert page.evaluate(feeds) == [True]
    set_visibility(page, "hidden")
    assert page.evaluate(feeds) == [False]  # the connection is closed
    hidden_at = ui.text_length(page, writing)
    set_visibility(page, "visible")
    assert page.evaluate(feeds) == [True]
    ui.wait_text_grows(page, writing, hidden_at)  # what was written meanwhile, and on
    expect(ui.header(page)).to_contain_text("completed", timeout=30_000)


def test_without_the_route_tokens_are_drawn_through_the_page(
    page: Page, plain_app_server: AppServer, fake_llm: FakeLLM
) -> None:
    """``streamlit run app.py`` (no ``serve.py``): the same live view, drawn by the page."""
    writing, first = start_streaming(page, plain_app_server.url, fake_llm, 2)
    ui.wait_text_grows(page, writing, first)
    expect(page.locator(".duet-live-text")).to_have_count(0)
    expect(ui.header(page)).to_contain_text("completed", timeout=30_000)
    expect(page.locator(ui.key("t1-bot1-turn"))).to_contain_text(" ".join(SAID[-3:]))


def test_slider_moved_mid_turn_reaches_the_bots_next_request(
    page: Page, app_server: AppServer, fake_llm: FakeLLM
) -> None:
    fake_llm.delay = 0.25  # about 6.5 s a turn: the change lands before Ada speaks again
    ui.open_app(page, app_server.url)
    setup_openai_bots(page, 3)
    before = len(fake_llm.bodies("/chat/completions"))
    ui.start(page)
    ui.wait_text_grows(page, ui.live_turn(0), 0)  # Ada is speaking: no pause
    ui.open_setup(page)  # folded while the run streams
    ui.slide_to(page, "bot0_temperature", 0.9)
    expect(page.get_by_text("Changes apply from Ada's next turn.")).to_be_visible()
    expect(page.locator(ui.live_turn(2))).to_have_count(0)  # Ada has not spoken again yet
    expect(ui.header(page)).to_contain_text("completed", timeout=60_000)
    temperatures = [b.get("temperature") for b in fake_llm.bodies("/chat/completions")[before:]]
    assert temperatures == [0.7, 1.0, 0.9]  # Ada, Bob, then Ada with the new setting
    expect(page.get_by_text("Ada: temperature 0.7 → 0.9 from turn 3")).to_be_visible()


def test_stop_during_a_turn_cuts_it(page: Page, app_server: AppServer, fake_llm: FakeLLM) -> None:
    fake_llm.delay = 0.2  # a full reply would take over five seconds
    ui.open_app(page, app_server.url)
    setup_openai_bots(page, 3)
    ui.start(page)
    ui.wait_text_grows(page, ui.live_turn(0), len("Reply1 from gpt-4.1-mini: a measured"))
    page.locator(ui.key("stop")).get_by_role("button").click()
    expect(ui.header(page)).to_contain_text("stopped")
    cut = page.locator(ui.key("t0-bot0-turn"))
    expect(cut).to_contain_text(" · stopped")
    assert " ".join(SAID[-3:]) not in cut.inner_text()  # ended mid-turn, not after it
    expect(page.locator(ui.live_turn())).to_have_count(0)


def test_reload_reattaches_to_the_stream(page: Page, app_server: AppServer, fake_llm) -> None:
    fake_llm.delay = 0.1
    ui.open_app(page, app_server.url)
    setup_openai_bots(page, 20)  # stopped below: long enough to outlast a slow reload
    run = ui.start(page)
    ui.wait_text_grows(page, ui.live_turn(), 0)
    page.reload()
    assert ui.run_id(page) == run
    now = ui.wait_text_grows(page, ui.live_turn(), 0)
    ui.wait_stream_moves(page, now)  # still streaming after the reload
    page.locator(ui.key("stop")).get_by_role("button").click()
    expect(ui.header(page)).to_contain_text("stopped")


def test_closed_tab_ends_its_fragment(
    browser: Browser, app_server: AppServer, fake_llm: FakeLLM
) -> None:
    fake_llm.delay = 0.1
    watcher = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    ui.open_app(watcher, app_server.url)
    setup_openai_bots(watcher, 20)  # stopped below: long enough to outlast a slow machine
    run = ui.start(watcher)
    ui.wait_text_grows(watcher, ui.live_turn(), 0)
    streaming = threads(app_server.pid)  # includes the script thread of the blocking panel

    watcher.context.close()  # the tab goes away mid-turn
    other = None
    try:
        other = browser.new_context().new_page()
        # the panel's script thread ends (the run's own thread goes on)
        wait_until(other, lambda: threads(app_server.pid) < streaming, "the fragment to end")
        # the run itself goes on; a new tab attaches and sees it stream
        other.goto(f"{app_server.url}/?run={run}")
        ui.wait_text_grows(other, ui.live_turn(), 0)
        other.locator(ui.key("stop")).get_by_role("button").click()
        expect(ui.header(other)).to_contain_text("stopped")
    finally:
        if other is not None:
            other.context.close()


def choose_fast(page: Page, widget_key: str, option: str) -> None:
    """Pick by typing, as a quick person does: no waiting for the page to settle."""
    page.locator(ui.key(widget_key)).get_by_role("combobox").click()
    page.keyboard.type(option)
    page.keyboard.press("Enter")


def test_choices_in_the_first_second_are_kept(browser: Browser, app_server: AppServer) -> None:
    for attempt in range(4):  # several fresh pages: sessions that have just started
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        try:
            page.goto(app_server.url)
            ui.combobox(page, "bot0_provider").wait_for()
            choose_fast(page, "bot0_provider", "OpenAI")
            choose_fast(page, "bot1_provider", "Anthropic")
            # each provider's own default model follows once the page has caught up
            expect(ui.combobox(page, "bot1_model")).to_have_value("claude-sonnet-5-5")
            expect(ui.combobox(page, "bot0_model")).to_have_value("gpt-4.1-mini")
            choose_fast(page, "bot0_model", "gpt-4o-mini")
            expect(ui.combobox(page, "bot0_model")).to_have_value("gpt-4o-mini")
            ui.wait_idle(page)
            values = [
                ui.combobox(page, k).input_value() for k in ("bot0_provider", "bot1_provider")
            ]
            assert values == ["OpenAI", "Anthropic"], f"page {attempt}: {values}"
        finally:
            context.close()
