"""Small helpers that drive the conversation page through its stable ``.st-key-*`` classes."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

TIMEOUT = 40_000  # ms (a bound, as in conftest.py)
expect.set_options(timeout=TIMEOUT)


def key(name: str) -> str:
    return f".st-key-{name}"


def open_app(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.locator(key("start")).get_by_role("button")).to_be_visible()


SETUP = '[class*="st-key-setup_"]'  # the Setup expander (setup_idle or setup_run)


def open_setup(page: Page) -> None:
    """Unfold the Setup section (folded while a run streams) if it is folded."""
    details = page.locator(SETUP).locator("details").first
    if details.get_attribute("open") is None:
        details.locator("summary").first.click()
        expect(details).to_have_attribute("open", "")


def reveal(page: Page, widget_key: str) -> None:
    """Unfold the Setup first when the widget is in it (the conversation page's)."""
    if page.locator(SETUP).locator(key(widget_key)).count():
        open_setup(page)


def open_more(page: Page, bot: int) -> None:
    """Open bot ``bot``'s "More" popover (avatar, top p, effort, max tokens, thinking)."""
    page.locator(key(f"bot{bot}_more")).get_by_role("button").first.click()
    expect(page.locator(key(f"bot{bot}_effort"))).to_be_visible()


def run_id(page: Page) -> str | None:
    return (parse_qs(urlparse(page.url).query).get("run") or [None])[0]


def header(page: Page) -> Locator:
    return page.locator(key("live_header"))


def live_turn(index: int | None = None) -> str:
    """A CSS selector for the turn in progress (``index``: that turn only)."""
    if index is None:
        return '[class*="st-key-live_turn_"]'
    return key(f"live_turn_{index}")


def text_length(page: Page, selector: str) -> int:
    return len(page.locator(selector).first.inner_text())


def start(page: Page) -> str:
    """Press Start; return the new run's id once it is in the URL and its header shows (a
    quick run may already have completed by then)."""
    before = run_id(page)
    page.locator(key("start")).get_by_role("button").click()
    page.wait_for_function(
        "before => new URL(location.href).searchParams.get('run') !== before", arg=before
    )
    expect(header(page)).to_contain_text(re.compile("running|paused|completed"))
    return run_id(page)  # type: ignore[return-value]


def wait_text_grows(page: Page, selector: str, than: int) -> int:
    """Wait until the text at ``selector`` is longer than ``than`` characters; return its
    length."""
    handle = page.wait_for_function(
        "([sel, n]) => { const el = document.querySelector(sel);"
        " const len = el === null ? 0 : el.innerText.length; return len > n ? len : false; }",
        arg=[selector, than],
    )
    return int(handle.json_value())


def wait_stream_moves(page: Page, than: int) -> None:
    """Wait until the turn in progress is longer than ``than`` characters, or another turn is
    in progress (the one measured may have ended just after it was measured)."""
    selector = live_turn()
    cls = page.locator(selector).first.get_attribute("class") or ""
    page.wait_for_function(
        "([sel, n, cls]) => { const el = document.querySelector(sel);"
        " return el !== null && (el.className !== cls || el.innerText.length > n); }",
        arg=[selector, than, cls],
    )


def select_option(page: Page, widget_key: str, option: str) -> None:
    """Pick ``option`` (exact label) in the selectbox with key ``widget_key``."""
    reveal(page, widget_key)
    box = combobox(page, widget_key)
    choice = page.get_by_role("option", name=option, exact=True)
    for attempt in range(3):  # a rerun that lands at the click can close the list at once
        wait_idle(page)
        box.click()
        try:
            choice.click(timeout=3_000)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")
    expect(box).to_have_value(option)


def wait_idle(page: Page) -> None:
    """Wait until no full script run is going (Streamlit's 'Running...' widget is gone)."""
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0)


def combobox(page: Page, widget_key: str) -> Locator:
    return page.locator(key(widget_key)).get_by_role("combobox")


def set_number(page: Page, widget_key: str, value: int) -> None:
    reveal(page, widget_key)
    field = page.locator(key(widget_key)).locator("input")
    field.fill(str(value))
    field.press("Enter")
    expect(field).to_have_value(str(value))


def slide_to(page: Page, widget_key: str, value: float, step: float = 0.05) -> None:
    """Move a slider with the arrow keys to ``value``."""
    reveal(page, widget_key)
    thumb = page.locator(key(widget_key)).get_by_role("slider")
    now = float(thumb.input_value())
    presses = round((value - now) / step)
    thumb.focus()
    for _ in range(abs(presses)):
        thumb.press("ArrowRight" if presses > 0 else "ArrowLeft")
    expect(thumb).to_have_value(f"{value:g}")
