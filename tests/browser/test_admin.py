"""The Admin page in a real browser (login required): "Change a role" shows the picked
account's current role, and removing an account asks first, then removes it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml
from playwright.sync_api import Page, expect

from tests.browser import ui
from tests.browser.conftest import AppServer, write_auth_file

pytestmark = pytest.mark.browser

ADMIN_PASSWORD = "admin-horse-42"
USERS = {
    "admin": (ADMIN_PASSWORD, "admin"),
    "fran": ("fran-horse-42", "facilitator"),
    "bob": ("bob-horse-42", "user"),
}


@pytest.fixture(scope="module")
def admin_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    tmp = tmp_path_factory.mktemp("admin")
    auth_file = tmp / "auth.yaml"
    write_auth_file(auth_file, USERS)
    server = AppServer(
        {
            "DUET_DEV_MODE": "0",
            "DUET_AUTH_FILE": str(auth_file),
            "DUET_DATABASE_URL": f"sqlite:///{tmp / 'duet.db'}",
        },
        tmp / "streamlit.log",
    )
    server.start()
    yield server
    server.stop()


def open_admin(page: Page, server: AppServer) -> None:
    page.goto(f"{server.url}/admin")
    page.get_by_role("textbox", name="Username").fill("admin")
    page.get_by_role("textbox", name="Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Login").click()
    expect(page.get_by_role("heading", name="Admin")).to_be_visible()
    ui.wait_idle(page)


def users_on_file(server: AppServer) -> dict:
    with open(server.env["DUET_AUTH_FILE"], encoding="utf-8") as f:
        return yaml.safe_load(f)["credentials"]["usernames"]


def test_change_a_role_shows_the_accounts_current_role(page: Page, admin_server: AppServer):
    open_admin(page, admin_server)
    role = ui.combobox(page, "role_role")
    for username, (_, current) in [*USERS.items(), ("admin", USERS["admin"])]:
        ui.select_option(page, "admin_account", f"{username} ({current})")
        expect(role).to_have_value(current)


def test_removing_an_account_asks_first(page: Page, admin_server: AppServer):
    open_admin(page, admin_server)
    ui.select_option(page, "admin_account", "bob (user)")
    page.get_by_role("tab", name="Disable or remove").click()
    page.locator(ui.key("admin_remove")).get_by_role("button").click()
    question = page.get_by_text("Remove bob for good?")
    expect(question).to_be_visible()
    assert "bob" in users_on_file(admin_server)  # nothing yet

    page.locator(ui.key("admin_confirm_no")).get_by_role("button").click()
    expect(question).to_have_count(0)
    assert "bob" in users_on_file(admin_server)

    page.locator(ui.key("admin_remove")).get_by_role("button").click()
    page.locator(ui.key("admin_confirm_yes")).get_by_role("button").click()
    expect(page.get_by_text("bob is removed.")).to_be_visible()
    assert "bob" not in users_on_file(admin_server)
    ui.combobox(page, "admin_account").click()
    expect(page.get_by_role("option", name="fran (facilitator)")).to_be_visible()
    expect(page.get_by_role("option", name="bob (user)")).to_have_count(0)
