"""Take docs/prompt_lab.png: three Prompt Lab variants of a Claude turn streaming side by side.

    .venv/bin/python tests/browser/lab_screenshot.py [--out docs]

Starts the app (development mode, a temp SQLite file) with OpenAI and Anthropic pointed at a
local fake model that thinks before it answers, opens the fixture
``speed-limit-openai-vs-claude.json`` in the Prompt Lab, regenerates Claude's last turn three
ways and photographs the variants mid-stream. Not a test: pytest does not collect this file.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.browser import ui  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, AppServer  # noqa: E402
from tests.providers.provider_fakes import (  # noqa: E402
    FakeServer,
    Recorded,
    Reply,
    anthropic_stream,
    openai_stream,
)

FIXTURE = "speed-limit-openai-vs-claude.json"
THOUGHTS = [
    "The question is who carries the risk of the exception. ",
    "Passengers chose the car; pedestrians and other drivers did not. ",
    "So the rule should come from someone answerable to all of them, ",
    "and it should be narrow enough to audit.",
]
ANSWERS = [
    "A regulator should set it, because the danger falls on people who never agreed to it. "
    "The car may exceed the limit only to avoid an immediate harm, and must log why.",
    "Not the passenger: a hurry is not a reason to endanger strangers. Let a public body "
    "define the rare exceptions, and make every one of them auditable afterwards.",
    "The regulator, with the manufacturer bound to prove compliance. I would allow only "
    "emergency exceptions, each recorded, so that trust in the rule can be earned.",
]


class ThoughtfulLLM(FakeServer):
    """Thinks (when asked to) before it answers; each answer a little different."""

    def record(self, request: Recorded) -> Reply:
        with self._lock:
            self.requests.append(request)
            n = len(self.requests)
        body = request.body or {}
        words = [w + " " for w in ANSWERS[(n - 1) % len(ANSWERS)].split(" ")]
        if request.path.endswith("/messages"):
            thinking = body.get("thinking", {}).get("type") in ("enabled", "adaptive")
            return anthropic_stream(words, THOUGHTS if thinking else (), usage=(262, 140)).slowly(
                0.09
            )
        return openai_stream(words, usage=(197, 40)).slowly(0.09)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="duet-lab-shot-"))
    llm = ThoughtfulLLM().start()
    server = AppServer(
        {
            "DUET_DEV_MODE": "1",
            "DUET_DATABASE_URL": f"sqlite:///{tmp / 'duet.db'}",
            "OPENAI_BASE_URL": f"{llm.url}/v1",
            "ANTHROPIC_BASE_URL": llm.url,
            "OPENAI_API_KEY": "sk-fake-openai",
            "ANTHROPIC_API_KEY": "sk-fake-anthropic",
        },
        tmp / "streamlit.log",
    ).start()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 1500, "height": 1750})
            page.goto(f"{server.url}/prompt_lab")
            page.locator(ui.key("lab_source_kind")).get_by_text("Fixture").click()
            ui.select_option(page, "lab_fixture", FIXTURE)
            turns = ui.combobox(page, "lab_turn")
            expect(turns).to_be_visible()
            ui.select_option(page, "lab_turn", _label_of_turn_4(page))
            ui.set_number(page, "lab_variants", 3)
            expect(page.locator(ui.key("lab_v2_thinking"))).to_be_visible()
            page.locator(ui.key("lab_v1_thinking")).get_by_text("Thinking").click()
            ui.wait_idle(page)
            ui.select_option(page, "lab_v2_effort", "high")
            ui.wait_idle(page)
            page.locator(ui.key("lab_go")).get_by_role("button").click()
            for v in range(3):
                ui.wait_text_grows(page, ui.key(f"lab_text_{v}"), 90)
            expect(page.locator(ui.key("lab_thinking_0"))).to_contain_text("narrow enough")
            page.locator(ui.key("lab_turn")).evaluate("el => el.scrollIntoView({block: 'start'})")
            page.screenshot(path=args.out / "prompt_lab.png")
            print(f"wrote {args.out / 'prompt_lab.png'}")
            browser.close()
    finally:
        server.stop()
        llm.stop()


def _label_of_turn_4(page) -> str:
    from duet_core.lab.sources import load_fixture
    from duet_ui.lab.view import turn_label

    run = load_fixture(FIXTURE, ROOT / "examples" / "fixtures").run
    return turn_label(run.turns[3])


if __name__ == "__main__":
    main()
