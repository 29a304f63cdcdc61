"""Take the README screenshots and one picture of every page at desktop and phone size.

    .venv/bin/python tests/browser/screenshots.py [--out docs]

Seeds a few finished runs into a temp SQLite file, starts the app on it (development mode:
the viewer is an admin, offline demo provider), starts a run in headless Chromium and
photographs it while tokens stream, then opens a run in History and compares three. Writes
``conversation.png``, ``history.png`` and ``compare.png`` (the README's) and
``pages/<page>-desktop.png`` (1400×1000) and ``pages/<page>-phone.png`` (390×844): what a
person sees of each page on opening it, without scrolling. Not a test: pytest does not
collect this file.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

from duet_core.models import BotConfig, RunConfig  # noqa: E402
from duet_core.run.manager import RunManager  # noqa: E402
from duet_core.settings import Settings  # noqa: E402
from duet_core.store import Store  # noqa: E402
from tests.browser import ui  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, AppServer  # noqa: E402

SEED_TOPICS = (
    "Is remote work here to stay?",
    "Should homework be abolished?",
    "Is nuclear power green? Weigh the whole life cycle: mining and enriching the fuel, building"
    " the plant, running it for sixty years, storing the waste for thousands, and what the"
    " alternatives (wind, solar, storage, gas with capture) would emit over the same span.",
)
SIZES = {"desktop": (1400, 1000), "phone": (390, 844)}


def seed(database_url: str) -> list[str]:
    """A few finished demo runs, so History has rows to show; their ids, the longest last."""
    store = Store(database_url)
    manager = RunManager(store, Settings(database_url=database_url, demo_tokens_per_second=150))
    ids = []
    for n, topic in enumerate(SEED_TOPICS):
        bots = [
            BotConfig(name="Ada", temperature=0.7, system_prompt="A scientist."),
            BotConfig(name="Bob", temperature=1 + n / 10, system_prompt="A poet."),
        ]
        config = RunConfig(topic=topic, max_turns=4 + 2 * n, bots=bots)
        live = manager.start(config, "dev", rate_limited=False)
        live.join(30)
        ids.append(live.id)
    store.close()
    return ids


def settle(page: Page) -> None:
    """Wait until the page has drawn and no script run is going."""
    expect(page.locator("h1").first).to_be_visible(timeout=60_000)  # every page has a title
    ui.wait_idle(page)
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0)
    page.wait_for_load_state("networkidle")
    ui.wait_idle(page)
    page.evaluate("document.fonts.ready")


def every_page(page: Page, url: str, out: Path, seeded: list[str]) -> None:
    """Each page as it opens, at desktop and phone size; History with a run opened, Compare
    with three runs, the conversation page with a finished run."""
    (out / "pages").mkdir(parents=True, exist_ok=True)
    paths = {
        "conversation": f"?run={seeded[-1]}",
        "history": f"history?run={seeded[-1]}",
        "compare": f"compare?runs={','.join(seeded)}",
        "leaderboard": "leaderboard",
        "prompts": "prompts",
        "prompt_lab": "prompt_lab",
        "experiments": "experiments",
        "admin": "admin",
        "account": "account",
    }
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        for name, path in paths.items():
            page.goto(f"{url}/{path}")
            settle(page)
            target = out / "pages" / f"{name}-{size}.png"
            page.screenshot(path=target)
            print(f"wrote {target}")
        page.goto(f"{url}/")  # the setup as a first visit finds it
        settle(page)
        target = out / "pages" / f"setup-{size}.png"
        page.screenshot(path=target)
        print(f"wrote {target}")


def readme_shots(page: Page, url: str, out: Path, seeded: list[str]) -> None:
    longest = seeded[-1]
    page.set_viewport_size({"width": 1440, "height": 1150})
    ui.open_app(page, url)
    ui.start(page)
    ui.wait_text_grows(page, ui.live_turn(2), 60)  # two finished turns, the third streaming
    page.screenshot(path=out / "conversation.png", full_page=True)
    print(f"wrote {out / 'conversation.png'}")

    page.locator(ui.key("stop")).get_by_role("button").click()
    expect(ui.header(page)).to_contain_text("stopped")

    page.set_viewport_size({"width": 1440, "height": 1700})
    page.goto(f"{url}/history")  # the list, then the longest run opened from it
    table = page.locator(ui.key("history_table"))
    expect(table.locator("canvas").first).to_be_visible()
    ui.wait_idle(page)
    box = table.bounding_box()
    # a click on its second row's topic (the first is the run just stopped) opens it:
    # header and rows are 35 px
    page.mouse.click(box["x"] + 150, box["y"] + 35 + 35 + 17)
    expect(page.locator(ui.key("download_csv"))).to_be_visible()
    assert ui.run_id(page) == longest, ui.run_id(page)
    expect(page.get_by_test_id("stChatMessage").first).to_be_visible()
    # the run's charts are drawn when their tab is opened (duet_ui/history/run.py)
    page.locator(ui.key("history_run_view")).get_by_role("tab", name="Charts").click()
    charts = page.get_by_test_id("stVegaLiteChart")
    expect(charts).to_have_count(2)
    for chart in charts.all():
        expect(chart.locator("canvas, svg").first).to_be_visible()
    page.screenshot(path=out / "history.png")
    print(f"wrote {out / 'history.png'}")

    page.goto(f"{url}/compare?runs={','.join(seeded)}")
    expect(page.get_by_role("heading", name="Turn by turn")).to_be_visible()
    expect(page.get_by_text("mean latency")).to_be_visible()  # the tables drawn
    ui.wait_idle(page)
    page.screenshot(path=out / "compare.png")
    print(f"wrote {out / 'compare.png'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument(
        "--pages-only", action="store_true", help="only docs/pages/ (not the README's three)"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="duet-shots-"))
    url = f"sqlite:///{tmp / 'duet.db'}"
    seeded = seed(url)
    server = AppServer(
        {
            "DUET_DEV_MODE": "1",
            "DUET_DATABASE_URL": url,
            "DUET_DEMO_TOKENS_PER_SECOND": "12",
            "DUET_OFFLINE_PROVIDER": "demo",  # the canned demo even where the local model is
        },
        tmp / "streamlit.log",
    ).start()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page()
            every_page(page, server.url, args.out, seeded)
            if not args.pages_only:
                readme_shots(browser.new_page(), server.url, args.out, seeded)
            browser.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
