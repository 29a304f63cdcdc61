"""Take the README screenshot of the Prompts page: docs/prompts.png.

    .venv/bin/python tests/browser/prompts_screenshot.py [--out docs]

Saves a template with three versions into a temp SQLite file, starts the app on it
(development mode), opens the Prompts page in headless Chromium and photographs the editor,
then the diff between two versions. Not a test: pytest does not collect this file.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from duet_core.store import Store  # noqa: E402
from tests.browser import ui  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, AppServer  # noqa: E402

VERSIONS = [
    (
        [
            {"role": "system", "content": "You are {{ my_name }}, a debater. Keep replies short."},
        ],
        "first draft",
    ),
    (
        [
            {"role": "system", "content": "You are {{ my_name }}, a {{ style }} debater."},
            {
                "role": "system",
                "content": "Answer {{ partner_name }} directly; {{ turns_left }} turns left.",
            },
            {"role": "human", "content": "Is a hot dog a sandwich?"},
            {"role": "ai", "content": "Evidence first: bread, filling, hand-held. So yes."},
        ],
        "style variable, one worked example",
    ),
    (
        [
            {
                "role": "system",
                "content": "You are {{ my_name }}, a {{ style }} debater. Cite one fact.",
            },
            {
                "role": "system",
                "content": "Answer {{ partner_name }} directly; {{ turns_left }} turns left.",
            },
            {"role": "human", "content": "Is a hot dog a sandwich?"},
            {"role": "ai", "content": "Evidence first: bread, filling, hand-held. So yes."},
        ],
        "ask for a fact",
    ),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="duet-shots-"))
    url = f"sqlite:///{tmp / 'duet.db'}"
    with Store(url) as store:
        for messages, note in VERSIONS:
            store.prompts.save("debater", messages, author="ada", note=note)
        store.prompts.save(
            "interviewer",
            [{"role": "system", "content": "Ask {{ partner_name }} one question."}],
            author="bob",
            note="",
        )
    server = AppServer({"DUET_DEV_MODE": "1", "DUET_DATABASE_URL": url}, tmp / "log").start()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 1440, "height": 1250})
            page.goto(f"{server.url}/prompts")
            expect(page.get_by_text("Editing from v3")).to_be_visible()
            page.get_by_role("tab", name="Diff").click()
            expect(page.get_by_test_id("stCode")).to_contain_text("Cite one fact")
            ui.wait_idle(page)
            page.get_by_role("tab", name="Edit").click()
            page.screenshot(path=args.out / "prompts.png", full_page=True)
            print(f"wrote {args.out / 'prompts.png'}")
            page.get_by_role("tab", name="Diff").click()
            page.screenshot(path=args.out / "prompts-diff.png", full_page=True)
            print(f"wrote {args.out / 'prompts-diff.png'}")
            browser.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
