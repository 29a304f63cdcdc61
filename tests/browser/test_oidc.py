"""Signing in through a real OpenID Provider (oidc-provider, tests/browser/oidc/server.mjs) in
Chromium: its own login and consent pages, roles from the groups claim, a refused person,
logout, an expired sign-in, and the local accounts' form beside the provider's button.

Two app servers share one provider: ``both`` (local accounts and the provider; anyone in no
mapped group is a user) and ``strict`` (the provider only; no mapped group: refused; its
client's ID tokens last a few seconds, for the expiry test)."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from duet_core.identity import subject_key
from tests.browser import ui  # noqa: F401  (sets expect's timeout for these tests)
from tests.browser.conftest import PASSWORD, USER, AppServer, write_auth_file
from tests.browser.oidc_provider import OpenIDProvider, client_for
from tests.waiting import wait_for

pytestmark = pytest.mark.browser

SIGN_IN = "Sign in with single sign-on"
FIRST_LOAD = 90_000  # ms: a fresh server's first page opens the database (slow on a busy machine)
BRIEF_TTL = 8  # seconds an ID token of the strict server's client lasts
ROLE_ENV = {
    "DUET_OIDC_ROLE_CLAIM": "groups",
    "DUET_OIDC_ADMIN_GROUPS": "duet-admins",
    "DUET_OIDC_FACILITATOR_GROUPS": "duet-facilitators, lab-staff",
}


@dataclass
class Setup:
    provider: OpenIDProvider
    both: AppServer
    strict: AppServer


def _app(tmp: Path, name: str, env: dict[str, str]) -> AppServer:
    folder = tmp / name
    folder.mkdir()
    auth_file = folder / "auth.yaml"
    write_auth_file(auth_file, {USER: (PASSWORD, "user")})
    return AppServer(
        {
            "DUET_DEV_MODE": "0",
            "DUET_AUTH_FILE": str(auth_file),
            "DUET_DATABASE_URL": f"sqlite:///{folder / 'duet.db'}",
            **ROLE_ENV,
            **env,
        },
        folder / "streamlit.log",
    )


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    tmp = tmp_path_factory.mktemp("oidc")
    both = _app(tmp, "both", {})
    strict = _app(tmp, "strict", {"DUET_LOCAL_ACCOUNTS": "0", "DUET_OIDC_REFUSE_UNMAPPED": "1"})
    clients = {
        both: client_for(both.url, "duet"),
        strict: client_for(strict.url, "duet-brief", id_token_ttl=BRIEF_TTL),
    }
    provider = OpenIDProvider(list(clients.values()), tmp / "oidc.log").start()
    started: list[AppServer] = []
    try:
        for server, client in clients.items():
            secrets_file = tmp / f"{client.client_id}.toml"
            secrets_file.write_text(provider.secrets_toml(client))
            server.extra_args = [f"--secrets.files={secrets_file}"]
            started.append(server.start())
        yield Setup(provider, both, strict)
    finally:
        for server in started:
            server.stop()
        provider.stop()


@pytest.fixture
def offline_page(page: Page) -> Page:
    """The provider's pages @import a web font: nothing leaves the machine."""
    page.context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
    return page


def provider_sign_in(page: Page, login: str) -> None:
    """oidc-provider's own login page, then its consent page when it asks."""
    expect(page.get_by_role("button", name="Sign-in")).to_be_visible()
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password")
    page.get_by_role("button", name="Sign-in").click()
    consent = page.get_by_role("button", name="Continue")
    expect(consent.or_(page.get_by_test_id("stApp"))).to_be_visible()
    if consent.is_visible():
        consent.click()


def sign_in(page: Page, server: AppServer, login: str) -> None:
    page.goto(server.url)
    expect(page.get_by_role("button", name=SIGN_IN)).to_be_visible(timeout=FIRST_LOAD)
    page.get_by_role("button", name=SIGN_IN).click()
    provider_sign_in(page, login)
    expect(page.get_by_test_id("stApp")).to_be_visible()


def nav(page: Page, title: str):
    return page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True)


def signed_in_as(page: Page, name: str) -> None:
    expect(page.get_by_test_id("stSidebar").get_by_text(f"Signed in as {name}")).to_be_visible()


def test_an_admin_by_group_sees_admin_and_the_lab(offline_page: Page, setup: Setup) -> None:
    page = offline_page
    page.goto(setup.both.url)
    expect(page.get_by_label("Username")).to_be_visible(timeout=FIRST_LOAD)  # both ways in
    sign_in(page, setup.both, "ada")
    signed_in_as(page, "Ada Admin")
    expect(nav(page, "Admin")).to_be_visible()
    expect(nav(page, "Prompt Lab")).to_be_visible()
    nav(page, "Admin").click()
    expect(page.get_by_text("Access denied")).to_have_count(0)


def test_a_facilitator_by_group_sees_the_lab_not_admin(offline_page: Page, setup: Setup) -> None:
    sign_in(offline_page, setup.both, "fay")
    signed_in_as(offline_page, "Fay Facilitator")
    expect(nav(offline_page, "Prompt Lab")).to_be_visible()
    expect(nav(offline_page, "Conversation")).to_be_visible()
    expect(nav(offline_page, "Admin")).to_have_count(0)


def test_a_plain_user_makes_an_api_token_that_acts_as_them(
    offline_page: Page, setup: Setup
) -> None:
    page = offline_page
    sign_in(page, setup.both, "uma")
    signed_in_as(page, "Uma User")
    expect(nav(page, "Conversation")).to_be_visible()
    expect(nav(page, "Prompt Lab")).to_have_count(0)
    expect(nav(page, "Admin")).to_have_count(0)

    nav(page, "Account").click()
    page.get_by_role("textbox", name="What is it for?").fill("notebook")
    page.get_by_role("button", name="Make a token").click()
    secret = page.get_by_test_id("stCode").filter(has_text="duet_")
    expect(secret).to_be_visible()
    request = urllib.request.Request(
        f"{setup.both.url}/api/tokens",
        headers={"Authorization": f"Bearer {secret.inner_text().strip()}"},
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        tokens = json.load(r)
    # the token belongs to the person's stable subject at this issuer, not to a name
    assert [(t["user"], t["name"]) for t in tokens] == [
        (subject_key(setup.provider.issuer, "uma"), "notebook")
    ]


def test_the_local_form_still_works_beside_the_provider(offline_page: Page, setup: Setup) -> None:
    page = offline_page
    page.goto(setup.both.url)
    expect(page.get_by_role("button", name=SIGN_IN)).to_be_visible(timeout=FIRST_LOAD)
    form = page.get_by_test_id("stForm")
    expect(form.get_by_test_id("stBaseButton-primaryFormSubmit")).to_have_text("Login")
    box, viewport = form.bounding_box(), page.viewport_size
    assert box is not None and viewport is not None
    assert box["width"] <= 480  # a narrow column, centred
    assert abs(box["x"] + box["width"] / 2 - viewport["width"] / 2) < 40
    page.get_by_role("textbox", name="Username").fill(USER)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Login").click()
    signed_in_as(page, "Alice")


def test_log_out_through_the_provider(offline_page: Page, setup: Setup) -> None:
    page = offline_page
    sign_in(page, setup.both, "ada")
    signed_in_as(page, "Ada Admin")
    page.get_by_test_id("stSidebar").get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="Yes, sign me out").click()  # the provider's own page
    expect(page.get_by_role("button", name=SIGN_IN)).to_be_visible()
    assert page.url.startswith(setup.both.url)
    expect(page.get_by_text("Signed in as")).to_have_count(0)
    page.goto(f"{setup.both.url}/history")  # and the app stays closed
    expect(page.get_by_role("button", name=SIGN_IN)).to_be_visible()
    expect(page.get_by_text("Signed in as")).to_have_count(0)


def test_someone_in_no_mapped_group_is_refused(offline_page: Page, setup: Setup) -> None:
    page = offline_page
    page.goto(setup.strict.url)
    expect(page.get_by_role("button", name=SIGN_IN)).to_be_visible(timeout=FIRST_LOAD)
    expect(page.get_by_label("Username")).to_have_count(0)  # local accounts are off here
    sign_in(page, setup.strict, "rex")
    expect(page.get_by_text("is in no group that may use Duet")).to_be_visible()
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
    page.goto(f"{setup.strict.url}/history")  # a deep link gets no further
    expect(page.get_by_text("is in no group that may use Duet")).to_be_visible()
    expect(page.get_by_role("heading", name="History", exact=False)).to_have_count(0)


def test_an_expired_sign_in_is_logged_out_with_a_message(offline_page: Page, setup: Setup) -> None:
    """The strict server's ID tokens last BRIEF_TTL seconds; Streamlit's cookie would keep the
    person in for 30 days. Reloading until the token's exp has passed: the app closes."""
    page = offline_page
    sign_in(page, setup.strict, "ada")
    expired = page.get_by_text("Your sign-in expired")
    shown = page.get_by_text("Signed in as Ada Admin").or_(expired)

    def shows_expired() -> bool:
        page.reload()
        expect(shown).to_be_visible()
        return expired.is_visible()

    wait_for(shows_expired, timeout=BRIEF_TTL + 60, what="the expired message")
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
    expect(page.get_by_text("Signed in as")).to_have_count(0)
    page.get_by_role("button", name="Sign in again").click()  # back to the provider
    expect(page.get_by_role("button", name="Sign-in")).to_be_visible()
