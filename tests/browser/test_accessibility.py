"""axe-core (the npm package, installed by ``make test`` into ``tests/browser/a11y``) on every
page of the app, logged in as an admin: no "serious" or "critical" finding (colour contrast,
names of controls, ...). The theme in ``.streamlit/config.toml`` keeps text colours at WCAG
AA contrast."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from duet_core.models import BotConfig, RunConfig
from duet_core.run.manager import RunManager
from duet_core.settings import Settings
from duet_core.store import Store
from tests.browser import ui
from tests.browser.conftest import AppServer, write_auth_file
from tests.browser.test_login import log_in

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
ADMIN, ADMIN_PASSWORD = "ada", "admin-pass-42"
BAD = ("serious", "critical")


@pytest.fixture(scope="module")
def admin_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppServer, list]]:
    """Login required, one admin; two finished demo runs so History and Compare have rows."""
    tmp = tmp_path_factory.mktemp("a11y")
    auth_file = tmp / "auth.yaml"
    write_auth_file(auth_file, {ADMIN: (ADMIN_PASSWORD, "admin")})
    url = f"sqlite:///{tmp / 'duet.db'}"
    store = Store(url)
    manager = RunManager(store, Settings(database_url=url, demo_tokens_per_second=500))
    runs = []
    for topic in ("Is tea better than coffee?", "Should homework be abolished?"):
        bots = [BotConfig(name="Ada", temperature=0.7), BotConfig(name="Bob", temperature=1.0)]
        live = manager.start(RunConfig(topic=topic, max_turns=2, bots=bots), ADMIN)
        live.join(30)
        runs.append(live.id)
    store.close()
    server = AppServer(
        {
            "DUET_DEV_MODE": "0",
            "DUET_AUTH_FILE": str(auth_file),
            "DUET_DATABASE_URL": url,
            "DUET_OFFLINE_PROVIDER": "demo",
        },
        tmp / "streamlit.log",
    ).start()
    yield server, runs
    server.stop()


def axe_findings(page: Page) -> list[str]:
    """axe-core's serious and critical findings on the page as it stands, one line each."""
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
        .map(v => ({id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.slice(0, 4).map(n => n.target.join(' ')
                      + (n.any[0] ? ' (' + n.any[0].message + ')' : ''))}))"""
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']}: {'; '.join(v['nodes'])}"
        for v in violations
        if v["impact"] in BAD
    ]


def settle(page: Page) -> None:
    expect(page.locator("h1").first).to_be_visible()
    ui.wait_idle(page)
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0)
    page.wait_for_load_state("networkidle")
    ui.wait_idle(page)


PAGES = {
    "conversation": "",
    "history": "history",
    "compare": "compare?runs={runs}",
    "leaderboard": "leaderboard",
    "prompts": "prompts",
    "prompt_lab": "prompt_lab",
    "experiments": "experiments",
    "admin": "admin",
    "account": "account",
}


def test_axe_finds_nothing_serious_on_any_page(page: Page, admin_server) -> None:
    assert AXE.exists(), "run `npm ci --prefix tests/browser/a11y` (make test does)"
    server, runs = admin_server
    page.goto(server.url)
    # a fresh server's first page imports the whole app: slow on a busy machine
    expect(page.get_by_role("textbox", name="Username")).to_be_visible(timeout=60_000)
    log_in(page, ADMIN, ADMIN_PASSWORD)
    expect(page.get_by_text("Signed in as")).to_be_visible()
    found = {}
    for name, path in PAGES.items():
        page.goto(f"{server.url}/{path.format(runs=','.join(runs))}")
        settle(page)
        if name == "history":  # a run opened from the list, as people read one
            page.goto(f"{server.url}/history?run={runs[0]}")
            settle(page)
        found[name] = axe_findings(page)
    problems = [f"{name}: {line}" for name, lines in found.items() for line in lines]
    assert not problems, "\n".join(problems)
