"""Take docs/judged-run.png (a run in History judged per turn and as a whole, with people's
ratings) and docs/leaderboard.png (models ranked from blind votes, judges vs people).

    .venv/bin/python tests/browser/evaluation_screenshot.py [--out docs]

Seeds a temp SQLite file with a short debate, a few runs that differ in their first bot's
model and votes between them (drawn with a fixed seed from known strengths), starts the app
(development mode) with OpenAI pointed at a local fake judge answering JSON verdicts, judges
the debate from its History page in headless Chromium and photographs it, then the
Leaderboard page. Not a test: pytest does not collect this file.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from duet_core.evals.votes import cast_vote  # noqa: E402
from duet_core.models import (  # noqa: E402
    BotConfig,
    Evaluation,
    Run,
    RunConfig,
    RunStatus,
    Turn,
    utcnow,
)
from duet_core.store import Store  # noqa: E402
from tests.browser import ui  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, AppServer  # noqa: E402
from tests.providers.provider_fakes import FakeServer, Recorded, Reply, openai_stream  # noqa: E402

DEBATE = [
    "Cities should ban private cars from their centres. Streets given back to people carry "
    "more of them: a lane of cars moves about 2,000 people an hour, a lane of buses or bikes "
    "several times that.",
    "Throughput is not the only measure. A ban shuts out the people with the fewest options: "
    "night-shift workers, parents with small children, anyone who cannot walk far. What do "
    "you offer them?",
    "Exemptions for disability and deliveries, and transit that runs all night. Every city "
    "that has tried it, from Pontevedra to Oslo, kept those who most needed access.",
    "Then it is not a ban but a redesign, and I agree with the redesign. The word ban makes "
    "people defend their cars instead of asking for the buses they lack.",
]
VERDICTS = [  # what the fake judge says, in turn
    (8, "Opens with a concrete claim and a figure that supports it."),
    (9, "Names who would lose out and asks a direct question."),
    (6, "Answers the question, but the examples are asserted rather than shown."),
    (8, "Concedes the point fairly and reframes the disagreement."),
    (8, "A real exchange: both sides answer each other and end closer together."),
]
MODELS = {  # the leaderboard's models and the strengths its votes are drawn from
    "claude-sonnet-4-5": 1.2,
    "gpt-4.1": 0.9,
    "claude-haiku-4-5": 0.3,
    "gpt-4.1-mini": 0.0,
    "SmolLM2-135M-Instruct": -1.4,
}
VOTES = 90


class JudgeLLM(FakeServer):
    """A judge answering JSON: the verdict of ``VERDICTS`` for the turn judged (the last for
    the whole run)."""

    def record(self, request: Recorded) -> Reply:
        with self._lock:
            self.requests.append(request)
        asked = str(((request.body or {}).get("messages") or [{}])[-1].get("content", ""))
        judged = asked.split("The turn to judge", 1)[-1] if "The turn to judge" in asked else ""
        which = next((i for i, text in enumerate(DEBATE) if text in judged), len(DEBATE))
        score, reason = VERDICTS[which]
        words = json.dumps({"score": score, "reason": reason}).split(" ")
        return openai_stream([w + " " for w in words], usage=(420, 30)).slowly(0.01)


def _run(topic: str, model: str, contents: list[str], hours_ago: float) -> Run:
    bots = [
        BotConfig(name="Ada", provider="openai", model=model, avatar="🦉"),
        BotConfig(name="Bo", provider="anthropic", model="claude-haiku-4-5", avatar="🦊"),
    ]
    start = utcnow() - timedelta(hours=hours_ago)
    run = Run(
        owner="dev",
        config=RunConfig(topic=topic, max_turns=len(contents), bots=bots),
        status=RunStatus.COMPLETED,
        stop_reason="max_turns",
        created_at=start,
        finished_at=start + timedelta(minutes=2),
    )
    run.turns = [
        Turn(index=i, bot_index=i % 2, bot_name=bots[i % 2].name, config=bots[i % 2],
             content=text, started_at=start + timedelta(seconds=20 * i),
             finished_at=start + timedelta(seconds=20 * i + 15), input_tokens=180 + 90 * i,
             output_tokens=len(text.split()) * 4 // 3, ttft_ms=420.0 + 30 * i,
             latency_ms=2400.0 + 200 * i, finish_reason="stop")
        for i, text in enumerate(contents)
    ]  # fmt: skip
    return run


def seed(url: str) -> str:
    """The debate to judge (its id) and the leaderboard's runs and votes."""
    rng = random.Random(7)
    with Store(url) as store:
        debate = _run("Should cities ban private cars from their centres?", "gpt-4.1", DEBATE, 1)
        store.create_run(debate)
        for turn, score in ((0, 7), (1, 9), (2, 5), (3, 8)):
            store.evaluations.rate_turn(debate.id, turn, score, "dev")
        ids = {}
        for n, model in enumerate(MODELS):
            run = _run("Is nuclear power green?", model, DEBATE[:2], 3 + n)
            store.create_run(run)
            ids[model] = run.id
        names = list(MODELS)
        for _ in range(VOTES):
            a, b = rng.sample(names, 2)
            p = 1 / (1 + math.exp(MODELS[b] - MODELS[a]))
            draw = rng.random()
            winner = "tie" if abs(draw - p) < 0.06 else ("a" if draw < p else "b")
            cast_vote(store, ids[a], ids[b], winner, rng.choice(["ana", "ben", "dev"]), 0)
        # an earlier per-turn judge on the leaderboard's runs, beside people's scores of them
        for model, run_id in ids.items():
            base = round(5 + 2 * MODELS[model])
            store.evaluations.add(
                [Evaluation(run_id=run_id, judge="turn quality", per="turn", turn=t,
                            score=max(1, min(10, base + t)), model="gpt-4.1")
                 for t in (0, 1)]
            )  # fmt: skip
            for t in (0, 1):
                store.evaluations.rate_turn(
                    run_id, t, max(1, min(10, base + rng.choice((0, 1)))), "ana"
                )
    return debate.id


def judge(page, rubric: str, said: str) -> None:
    ui.select_option(page, "judge_rubric", rubric)
    ui.wait_idle(page)
    page.locator(ui.key("judge_go")).get_by_role("button").click()
    expect(page.get_by_text(said)).to_be_visible()
    ui.wait_idle(page)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="duet-eval-shots-"))
    url = f"sqlite:///{tmp / 'duet.db'}"
    debate = seed(url)
    llm = JudgeLLM().start()
    server = AppServer(
        {
            "DUET_DEV_MODE": "1",
            "DUET_DATABASE_URL": url,
            "OPENAI_BASE_URL": f"{llm.url}/v1",
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
            page = browser.new_page(viewport={"width": 1440, "height": 2080})
            page.goto(f"{server.url}/history?run={debate}")
            expect(page.get_by_text("redesign", exact=False).first).to_be_visible()
            ui.wait_idle(page)
            page.get_by_text("Judge this run").click()
            judge(page, "Built-in: each turn", "turn quality: 4 scores stored.")
            page.get_by_text("Judge this run").click()
            judge(page, "Built-in: the whole run", "overall: 1 score stored.")
            expect(page.locator(ui.key("run_scores"))).to_contain_text("overall")
            page.locator(ui.key("rate_turns")).get_by_text("Rate turns").click()
            ui.wait_idle(page)
            page.get_by_text("Judge this run").click()  # folded again: the scores in view
            expect(page.locator(ui.key("judge_go"))).to_be_hidden()
            page.wait_for_function(  # the fold's animation over: the transcript stays put
                "() => { const el = document.querySelector('[data-testid=stTabs]');"
                " const y = el.getBoundingClientRect().top;"
                " const was = window.__tabsY; window.__tabsY = y; return was === y; }",
                polling=200,
            )
            page.screenshot(path=args.out / "judged-run.png")
            print(f"wrote {args.out / 'judged-run.png'}")

            page.set_viewport_size({"width": 1440, "height": 900})
            page.goto(f"{server.url}/leaderboard")
            rows = page.locator(ui.key("board_table")).locator("tbody tr")
            expect(rows).to_have_count(len(MODELS))
            expect(
                page.get_by_test_id("stVegaLiteChart").locator("canvas, svg").first
            ).to_be_visible()
            ui.wait_idle(page)
            page.screenshot(path=args.out / "leaderboard.png", full_page=True)
            print(f"wrote {args.out / 'leaderboard.png'}")
            browser.close()
    finally:
        server.stop()
        llm.stop()


if __name__ == "__main__":
    main()
