"""Take the README screenshots: docs/conversation.png (mid-run), docs/history.png and
docs/compare.png.

    .venv/bin/python tests/browser/screenshots.py [--out docs]

Seeds a few finished runs into a temp SQLite file, starts the app on it (development mode,
offline demo provider), starts a run in headless Chromium and photographs it while tokens
stream, then opens the run in History. Not a test: pytest does not collect this file.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from duet_core.models import BotConfig, RunConfig  # noqa: E402
from duet_core.run.manager import RunManager  # noqa: E402
from duet_core.settings import Settings  # noqa: E402
from duet_core.store import Store  # noqa: E402
from tests.browser import ui  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, AppServer  # noqa: E402

SEED_TOPICS = (
    "Is remote work here to stay?",
    "Should homework be abolished?",
    "Is nuclear power green?",
)


def seed(database_url: str) -> list[str]:
    """A few finished demo runs, so History has rows to show; their ids, the longest last."""
    store = Store(database_url)
    manager = RunManager(store, Settings(database_url=database_url, demo_tokens_per_second=150))
    ids = []
    for n, topic in enumerate(SEED_TOPICS):
        bots = [
            BotConfig(name="Ada", avatar="🦉", temperature=0.7, system_prompt="A scientist."),
            BotConfig(name="Bob", avatar="🦊", temperature=1 + n / 10, system_prompt="A poet."),
        ]
        config = RunConfig(topic=topic, max_turns=4 + 2 * n, bots=bots)
        live = manager.start(config, "dev", rate_limited=False)
        live.join(30)
        ids.append(live.id)
    store.close()
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="duet-shots-"))
    url = f"sqlite:///{tmp / 'duet.db'}"
    seeded = seed(url)
    longest = seeded[-1]
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
            page = browser.new_page(viewport={"width": 1440, "height": 1150})
            ui.open_app(page, server.url)
            ui.start(page)
            ui.wait_text_grows(page, ui.live_turn(2), 60)  # two finished turns, the third streaming
            page.screenshot(path=args.out / "conversation.png", full_page=True)
            print(f"wrote {args.out / 'conversation.png'}")

            page.locator(ui.key("stop")).get_by_role("button").click()
            expect(ui.header(page)).to_contain_text("stopped")

            page.set_viewport_size({"width": 1440, "height": 1700})
            page.goto(f"{server.url}/history")  # the list, then the longest run ticked in it
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
            page.screenshot(path=args.out / "history.png")
            print(f"wrote {args.out / 'history.png'}")

            page.goto(f"{server.url}/compare?runs={','.join(seeded)}")
            expect(page.get_by_role("heading", name="Turn by turn")).to_be_visible()
            expect(page.get_by_text("mean latency")).to_be_visible()  # the tables drawn
            expect(page.get_by_text("system_prompt", exact=False).first).to_be_visible()
            ui.wait_idle(page)
            page.screenshot(path=args.out / "compare.png")
            print(f"wrote {args.out / 'compare.png'}")
            browser.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
