"""Logging in through the form in a real browser (login required: no development mode)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Page, expect

from tests.browser import ui
from tests.browser.conftest import PASSWORD, TIMEOUT, USER, AppServer

pytestmark = pytest.mark.browser


def log_in(page: Page, username: str, password: str) -> None:
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Login").click()


def test_log_in_then_start_a_run(page: Page, login_server: AppServer) -> None:
    page.goto(login_server.url)
    expect(page.get_by_label("Username")).to_be_visible()
    expect(page.locator(ui.key("start"))).to_have_count(0)  # nothing before login

    log_in(page, USER, "not-the-password")
    expect(page.get_by_text("Wrong username or password")).to_be_visible()
    expect(page.locator(ui.key("start"))).to_have_count(0)

    log_in(page, USER, PASSWORD)
    expect(page.locator(ui.key("start")).get_by_role("button")).to_be_visible()
    expect(page.get_by_text("Signed in as")).to_be_visible()

    ui.start(page)
    ui.wait_text_grows(page, ui.live_turn(0), 0)
    page.locator(ui.key("stop")).get_by_role("button").click()
    expect(ui.header(page)).to_contain_text("stopped")


def test_a_login_pressed_at_once_is_not_lost(page: Page, login_server: AppServer) -> None:
    """Nothing on the login page asks for a rerun of its own: the library's cookie-reading
    component used to answer up to a second after the form showed, and its rerun pre-empted
    the run carrying a Login pressed in that window, which then did nothing (the form stayed,
    filled in). Checked on fresh pages: once the form shows, the page has asked for its
    first run only, and a login typed at once goes through."""
    for _ in range(3):
        fresh = page.context.browser.new_context().new_page()  # no cookie, a new session
        sent: list[object] = []
        fresh.on("websocket", lambda ws, sent=sent: ws.on("framesent", lambda f: sent.append(f)))
        fresh.goto(login_server.url)
        expect(fresh.get_by_label("Username")).to_be_visible()
        assert len(sent) == 1  # the first run only
        log_in(fresh, USER, PASSWORD)
        expect(fresh.get_by_text("Signed in as")).to_be_visible()
        fresh.context.close()


def test_another_url_opened_right_after_login_is_logged_in(
    page: Page, login_server: AppServer
) -> None:
    """The page shows only once the browser holds the "remember me" cookie: a second tab
    opened the moment the page appears is logged in, not sent to the login form."""
    page.goto(login_server.url)
    log_in(page, USER, PASSWORD)
    expect(page.get_by_text("Signed in as")).to_be_visible()
    cookies_when_shown = {c["name"] for c in page.context.cookies()}
    second = page.context.new_page()  # at once: no wait between the two
    second.goto(f"{login_server.url}/history")
    assert "duet_auth" in cookies_when_shown
    expect(second.get_by_text("Signed in as")).to_be_visible()
    expect(second.get_by_role("heading", name="History", exact=False)).to_be_visible()
    expect(second.get_by_label("Username")).to_have_count(0)


def test_a_remembered_user_who_was_removed_gets_the_login_form(
    browser, login_server: AppServer
) -> None:
    """The remember-me cookie of an account deleted from the auth file: the library refuses it
    on every login() call; the gate then ignores the cookie and shows the form."""
    auth_file = Path(login_server.env["DUET_AUTH_FILE"])
    original = auth_file.read_text()
    config = yaml.safe_load(original)
    config["credentials"]["usernames"]["temp"] = {
        "first_name": "Temp",
        "password": "temp-password-1",  # plain: the server hashes it when it reads the file
        "roles": ["user"],
    }
    auth_file.write_text(yaml.safe_dump(config))
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT)
    try:
        page = context.new_page()
        page.goto(login_server.url)
        log_in(page, "temp", "temp-password-1")
        expect(page.get_by_text("Signed in as")).to_be_visible()
        assert "duet_auth" in {c["name"] for c in context.cookies()}

        config = yaml.safe_load(auth_file.read_text())
        del config["credentials"]["usernames"]["temp"]
        auth_file.write_text(yaml.safe_dump(config))
        later = context.new_page()
        later.goto(login_server.url)
        expect(later.get_by_label("Username")).to_be_visible()
        expect(later.get_by_text("Signed in as")).to_have_count(0)
        expect(later.get_by_text("Traceback")).to_have_count(0)
        log_in(later, USER, PASSWORD)  # and the form works
        expect(later.get_by_text("Signed in as")).to_be_visible()
    finally:
        context.close()
        auth_file.write_text(original)


def test_a_deep_link_leads_to_its_page_after_login(page: Page, login_server: AppServer) -> None:
    page.goto(f"{login_server.url}/history")
    log_in(page, USER, PASSWORD)
    expect(page.get_by_role("heading", name="History", exact=False)).to_be_visible()
    assert page.url.startswith(f"{login_server.url}/history")
