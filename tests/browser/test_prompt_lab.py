"""The Prompt Lab in Chromium: a facilitator regenerates turn 2 with two variants at another
temperature, watches both stream side by side, saves one as a branch, continues it live on
the Conversation page and finds it under its parent in History; a plain user cannot reach it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from duet_core.lab.sources import read_transcript
from duet_core.models import BotConfig, Run, RunConfig, RunStatus
from duet_core.providers.demo import DemoProvider
from duet_core.run.engine import LiveRun
from duet_core.store import Store
from duet_ui.lab.view import turn_label
from tests.browser import ui
from tests.browser.conftest import AppServer, write_auth_file
from tests.browser.test_login import log_in

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
FACILITATOR, USER = ("fran", "fran-lab-secret-1"), ("ulla", "ulla-user-secret-1")


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppServer, Run]]:
    """Login required; a facilitator and a user; a finished demo run of four turns by fran."""
    tmp = tmp_path_factory.mktemp("lab")
    auth_file = tmp / "auth.yaml"
    write_auth_file(
        auth_file, {FACILITATOR[0]: (FACILITATOR[1], "facilitator"), USER[0]: (USER[1], "user")}
    )
    url = f"sqlite:///{tmp / 'duet.db'}"
    with Store(url) as store:
        bots = [
            BotConfig(name="Ann", temperature=0.7, system_prompt="You are Ann, a tea lover."),
            BotConfig(name="Bob", temperature=0.7, system_prompt="You are Bob, a coffee fan."),
        ]
        run = Run(
            owner=FACILITATOR[0], config=RunConfig(topic="Tea or coffee?", max_turns=4, bots=bots)
        )
        store.create_run(run)
        live = LiveRun(run, lambda bot: DemoProvider(tokens_per_second=0), store).start()
        assert live.join(30) and live.status is RunStatus.COMPLETED
        parent = store.get_run(run.id)
    server = AppServer(
        {
            "DUET_DEV_MODE": "0",
            "DUET_AUTH_FILE": str(auth_file),
            "DUET_DATABASE_URL": url,
            "DUET_DEMO_TOKENS_PER_SECOND": "15",  # a variant takes a few seconds: visibly streams
        },
        tmp / "streamlit.log",
    )
    server.start()
    yield server, parent
    server.stop()


def both_streaming(page: Page) -> None:
    """Wait for a moment when both variants show part of their text, neither finished."""
    page.wait_for_function(
        "() => [0, 1].every(v => { const el = document.querySelector('.st-key-lab_text_' + v);"
        " return el !== null && el.innerText.length > 20 && el.innerText.includes('▌'); })"
    )


def test_facilitator_regenerates_saves_a_branch_and_continues_it(page: Page, lab_server) -> None:
    server, parent = lab_server
    page.goto(server.url)
    log_in(page, *FACILITATOR)
    expect(page.get_by_text("Signed in as")).to_be_visible()
    expect(page.get_by_role("link", name="Prompt Lab")).to_be_visible()  # in the navigation
    page.goto(f"{server.url}/prompt_lab?run={parent.id}")
    expect(ui.combobox(page, "lab_run")).to_have_value(
        f"Tea or coffee? · {parent.id} · {parent.created_at:%Y-%m-%d %H:%M}"
    )
    ui.select_option(page, "lab_turn", turn_label(parent.turns[1]))  # "Turn 2 · Bob: ..."
    # another turn resets the variant forms to that turn's settings, in the run the choice
    # starts: let it end first, or it puts back the slider being moved
    expect(page.get_by_text("The original turn 2")).to_be_visible()
    ui.wait_idle(page)
    for v in (0, 1):
        ui.slide_to(page, f"lab_v{v}_temperature", 1.3)
    ui.wait_idle(page)
    page.locator(ui.key("lab_go")).get_by_role("button").click()

    both_streaming(page)  # side by side, at the same time
    for v in (0, 1):
        expect(page.locator(ui.key(f"lab_variant_{v}"))).to_contain_text("temperature 1.3")
        expect(page.locator(ui.key(f"lab_figures_{v}"))).to_contain_text("TTFT", timeout=30_000)
        expect(page.locator(ui.key(f"lab_text_{v}"))).not_to_contain_text("▌")
    variant_text = page.locator(ui.key("lab_text_0")).inner_text()
    for v in (0, 1):  # each variant's actions and diff inside its own card
        card = page.locator(ui.key(f"lab_variant_{v}"))
        expect(card.locator(ui.key(f"lab_save_{v}")).get_by_role("button")).to_be_visible()
        expect(card.locator(ui.key(f"lab_diff_{v}"))).to_contain_text("Diff against the original")

    page.locator(ui.key("lab_save_0")).get_by_role("button").click()
    page.wait_for_function(
        "parent => { const u = new URL(location.href); const r = u.searchParams.get('run');"
        " return r !== null && r !== parent && !u.pathname.includes('prompt_lab'); }",
        arg=parent.id,
    )
    branch = ui.run_id(page)
    expect(page.get_by_role("link", name=f"Branch of run {parent.id} at turn 2")).to_be_visible()
    # the saved variant is the branch's turn 2
    expect(page.locator("body")).to_contain_text(variant_text.strip()[-40:])
    page.locator(ui.key("continue")).get_by_role("button").click()
    expect(ui.header(page)).to_contain_text("running")
    expect(ui.header(page)).to_contain_text("completed", timeout=60_000)

    page.goto(f"{server.url}/history?run={parent.id}")
    branches = page.locator(ui.key("run_branches"))
    expect(branches).to_contain_text(f"{branch} · from turn 2 · 4 turns")
    branches.get_by_role("link").filter(has_text=branch).click()
    expect(page.get_by_text(f"Branch of run {parent.id} at turn 2")).to_be_visible()


def test_a_plain_user_cannot_reach_the_lab(page: Page, lab_server) -> None:
    server, _ = lab_server
    page.goto(server.url)
    log_in(page, *USER)
    expect(page.get_by_text("Signed in as")).to_be_visible()
    expect(page.get_by_role("link", name="Prompt Lab")).to_have_count(0)
    page.goto(f"{server.url}/prompt_lab")
    expect(page.get_by_text("Signed in as")).to_be_visible()
    expect(page.locator(ui.key("lab_go"))).to_have_count(0)
    expect(page.locator(ui.key("lab_source_kind"))).to_have_count(0)


def test_uploading_a_transcript(page: Page, lab_server, tmp_path) -> None:
    server, _ = lab_server
    page.goto(server.url)
    log_in(page, *FACILITATOR)
    expect(page.get_by_text("Signed in as")).to_be_visible()
    page.goto(f"{server.url}/prompt_lab")
    page.locator(ui.key("lab_source_kind")).get_by_text("Upload a transcript").click()
    upload = page.locator(ui.key("lab_upload")).locator("input[type=file]")

    bad = tmp_path / "broken.json"
    bad.write_text("{not json")
    upload.set_input_files(bad)
    expect(page.get_by_text("Not a transcript: not valid JSON")).to_be_visible()

    newer = tmp_path / "newer.json"
    newer.write_text('{"schema": "duet.transcript/2", "run": {}}')
    upload.set_input_files(newer)
    expect(page.get_by_text('This transcript is version "duet.transcript/2"')).to_be_visible()

    fixture = ROOT / "examples" / "fixtures" / "sourdough-interview-ollama.json"
    upload.set_input_files(fixture)
    first = read_transcript(fixture.read_bytes()).turns[0]
    expect(ui.combobox(page, "lab_turn")).to_have_value(turn_label(first))
    expect(page.get_by_text("Not a transcript")).to_have_count(0)


def pick_many(page: Page, widget_key: str, option: str) -> None:
    """Add ``option`` (exact label) to the multiselect with key ``widget_key``."""
    box = page.locator(ui.key(widget_key)).get_by_role("combobox")
    ui.wait_idle(page)
    box.click()
    page.get_by_role("option", name=option, exact=True).click()
    page.keyboard.press("Escape")
    expect(page.locator(ui.key(widget_key))).to_contain_text(option)
    ui.wait_idle(page)


def test_on_a_phone_the_variants_come_into_view_with_their_actions_inside(
    page: Page, lab_server
) -> None:
    server, parent = lab_server
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(server.url)
    log_in(page, *FACILITATOR)
    expect(page.get_by_text("Signed in as")).to_be_visible()
    page.goto(f"{server.url}/prompt_lab?run={parent.id}")
    ui.select_option(page, "lab_turn", turn_label(parent.turns[1]))
    expect(page.get_by_text("The original turn 2")).to_be_visible()
    ui.wait_idle(page)
    go = page.locator(ui.key("lab_go")).get_by_role("button")
    go.click()
    first = page.locator(ui.key("lab_variant_0"))
    # the page brings the results up to the top of the window (the test does not scroll):
    # left where the button was, they would start at the bottom edge, under the thumb
    page.wait_for_function(
        "() => { const el = document.querySelector('.st-key-lab_variant_0');"
        " if (el === null) return false; const top = el.getBoundingClientRect().top;"
        " return top >= 0 && top < window.innerHeight / 3; }"
    )
    for v in (0, 1):
        card = page.locator(ui.key(f"lab_variant_{v}"))
        expect(card.locator(ui.key(f"lab_figures_{v}"))).to_contain_text("TTFT", timeout=30_000)
        expect(card.locator(ui.key(f"lab_save_{v}")).get_by_role("button")).to_be_visible()
    expect(first).to_be_in_viewport()  # still where the eye is once they end


def test_many_conversations_make_a_grid_with_a_summary_row(page: Page, lab_server) -> None:
    server, parent = lab_server
    page.goto(server.url)
    log_in(page, *FACILITATOR)
    expect(page.get_by_text("Signed in as")).to_be_visible()
    page.goto(f"{server.url}/prompt_lab")
    page.locator(ui.key("lab_scope")).get_by_text("Many conversations").click()
    pick_many(page, "lab_many_fixtures", "cars-in-cities-demo.json")
    pick_many(page, "lab_many_runs", f"Tea or coffee? · {parent.id}")
    go = page.locator(ui.key("lab_many_go")).get_by_role("button")
    expect(go).to_contain_text("Regenerate 2")
    go.click()
    summary = page.locator(ui.key("lab_many_summary"))
    expect(summary).to_contain_text("All (2)", timeout=60_000)
    expect(summary).to_contain_text("2 done")
    fixture = read_transcript((ROOT / "examples/fixtures/cars-in-cities-demo.json").read_bytes())
    originals = [parent.turns[1].content, fixture.turns[1].content]  # runs, then fixtures
    for i, original in enumerate(originals):  # the original beside each result
        row = page.locator(ui.key(f"lab_many_{i}"))
        expect(row.locator(ui.key(f"lab_many_original_{i}"))).to_contain_text(original[:40])
        expect(row.locator(ui.key(f"lab_many_figures_{i}"))).to_contain_text("TTFT")
        expect(row.locator(ui.key(f"lab_many_save_{i}")).get_by_role("button")).to_be_visible()
