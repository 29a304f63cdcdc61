"""Server CPU per second of live streaming, one browser viewer, 2 vs 50 vs 200 finished turns.

    .venv/bin/python bench/ui_cpu.py [--app /work/main] [--turns 2,50,200] [--rate 20]

Seeds stopped runs into a temp SQLite store (one per ``--turns`` value, seeded with the app's
own code), starts the app of ``--app`` (``streamlit run``, development mode, offline demo
provider at ``--rate`` tokens/s) and, for each run, opens it in headless Chromium, presses
Continue and, once a new turn is streaming, reads the server process's CPU time (utime + stime
from /proc/<pid>/stat):

- "within a turn": ``--window`` seconds while one turn streams (no turn boundary).
- "across turns": the median of ``--repeat`` windows of ``--span`` seconds, each spanning
  several turns, so it includes what happens when a turn finishes and the next starts (the
  old page reran in full at every finished turn).

It prints both figures per run and the ratios to the shortest run. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from app_process import (
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    AppProcess,
    cpu_seconds,
    duet_script,
    run_in_app,
)
from playwright.sync_api import Page, expect, sync_playwright

SEED = """
import sys
from datetime import timedelta
from duet_core.models import BotConfig, Run, RunConfig, RunStatus, Turn, utcnow
from duet_core.providers.demo import DemoProvider
from duet_core.store import Store

url, counts = sys.argv[1], [int(n) for n in sys.argv[2].split(",")]
bots = [
    BotConfig(name="Ada", avatar="🦉", temperature=0.7, system_prompt="A scientist."),
    BotConfig(name="Bob", avatar="🦊", temperature=1.0, system_prompt="A poet."),
]
demo = DemoProvider(tokens_per_second=0, seed=1)
started = utcnow() - timedelta(hours=1)
ids = []
with Store(url) as store:
    for turns in counts:
        run = Run(
            owner="dev",
            config=RunConfig(topic=f"A run with {turns} turns", max_turns=1000, bots=bots),
            status=RunStatus.STOPPED,
            stop_reason="user",
        )
        store.create_run(run)
        for i in range(turns):
            bot = bots[i % 2]
            text = demo.reply(bot.system_prompt, [{"role": "user", "content": f"turn {i}"}], bot)
            store.save_turn(
                run.id,
                Turn(
                    index=i, bot_index=i % 2, bot_name=bot.name, content=text, config=bot,
                    started_at=started, finished_at=started, input_tokens=100,
                    output_tokens=len(text.split()), cost_usd=0.0, finish_reason="stop",
                ),
            )
        store.set_status(run.id, RunStatus.STOPPED, "user", None, utcnow())
        ids.append(run.id)
print(",".join(ids))
"""


def key(name: str) -> str:
    return f".st-key-{name}"


def measure(
    page: Page, server: AppProcess, run_id: str, window: float, span: float, repeat: int
) -> tuple:
    page.goto(f"{server.url}/?run={run_id}")
    page.locator(key("continue")).get_by_role("button").click()
    header = page.locator(key("live_header"))
    expect(header).to_contain_text("running", timeout=60_000)
    # wait for a turn to start streaming, then measure inside it
    turn = page.locator('[class*="st-key-live_turn_"]')
    expect(turn).to_have_count(1, timeout=60_000)
    index = (turn.get_attribute("class") or "").split("st-key-live_turn_")[1].split()[0]
    next_turn = key(f"live_turn_{int(index) + 1}")
    page.locator(next_turn).wait_for(timeout=60_000)  # a fresh turn has just started
    page.wait_for_function(
        "sel => (document.querySelector(sel)?.innerText.length ?? 0) > 0", arg=next_turn
    )
    t0, c0 = time.monotonic(), cpu_seconds(server.pid)
    page.wait_for_timeout(window * 1000)
    within = (cpu_seconds(server.pid) - c0) / (time.monotonic() - t0)
    finished_in_window = page.locator(next_turn).count() == 0

    spans = []
    for _ in range(repeat):  # the median of several windows: this machine is shared
        t0, c0 = time.monotonic(), cpu_seconds(server.pid)
        page.wait_for_timeout(span * 1000)
        spans.append((cpu_seconds(server.pid) - c0) / (time.monotonic() - t0))
    across = statistics.median(spans)
    page.locator(key("stop")).get_by_role("button").click()
    expect(header).to_contain_text("stopped", timeout=30_000)
    return within, across, finished_in_window


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", type=Path, default=ROOT, help="the Duet checkout to measure")
    parser.add_argument("--window", type=float, default=3.0, help="seconds inside one turn")
    parser.add_argument("--span", type=float, default=10.0, help="seconds across turns")
    parser.add_argument("--repeat", type=int, default=3, help="windows across turns (median)")
    parser.add_argument("--rate", type=float, default=20.0, help="demo tokens per second")
    parser.add_argument("--turns", default="2,50,200", help="finished turns of each run")
    parser.add_argument(
        "--post-script-gc",
        choices=("on", "off"),
        default=None,
        help="override runner.postScriptGC; default: what the app's config.toml says",
    )
    args = parser.parse_args()
    counts = [int(n) for n in args.turns.split(",")]

    tmp = Path(tempfile.mkdtemp(prefix="duet-bench-"))
    url = f"sqlite:///{tmp / 'duet.db'}"
    runs = dict(zip(counts, run_in_app(args.app, SEED, url, args.turns).split(","), strict=True))
    env = {
        "DUET_DEV_MODE": "1",
        "DUET_DATABASE_URL": url,
        "DUET_DEMO_TOKENS_PER_SECOND": str(args.rate),
        "DUET_MAX_TURNS": "1000",
    }
    if args.post_script_gc:
        env["STREAMLIT_RUNNER_POST_SCRIPT_GC"] = str(args.post_script_gc == "on").lower()
    server = AppProcess(args.app, duet_script(args.app), env, tmp / "streamlit.log").start()
    results = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            for turns, run_id in runs.items():
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = context.new_page()
                results[turns] = measure(page, server, run_id, args.window, args.span, args.repeat)
                context.close()
            browser.close()
    finally:
        server.stop()

    gc = {None: "as configured", "on": "on", "off": "off"}[args.post_script_gc]
    print(
        f"server CPU seconds per second, one viewer, demo at {args.rate:g} tokens/s,"
        f" runner.postScriptGC {gc}; app from {args.app}"
    )
    print(f"{'finished turns':>15} {'within a turn':>14} {'across turns':>13}")
    for turns, (within, across, spilled) in results.items():
        note = "  (a turn ended inside the window)" if spilled else ""
        print(f"{turns:>15} {within:>14.4f} {across:>13.4f}{note}")
    w0, a0, _ = results[counts[0]]
    for turns in counts[1:]:
        w, a, _ = results[turns]
        print(
            f"{'ratio':>15} {w / w0:>14.2f} {a / a0:>13.2f}   ({turns} turns / {counts[0]} turns)"
        )


if __name__ == "__main__":
    main()
