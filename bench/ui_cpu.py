"""Server CPU per second of live streaming, one browser viewer, 2 vs 200 finished turns.

    .venv/bin/python bench/ui_cpu.py [--window 3] [--rate 8] [--long 200]

Seeds two stopped runs into a temp SQLite store (2 and ``--long`` finished turns), starts the
app (``streamlit run``, development mode, offline demo provider at ``--rate`` tokens/s) and,
for each run, opens it in headless Chromium, presses Continue and, once a new turn is
streaming, reads the server process's CPU time (utime + stime from /proc/<pid>/stat):

- "within a turn": ``--window`` seconds while one turn streams: only the live fragment
  refreshes (every 0.25 s). This is the per-refresh cost, which must not grow with the
  transcript.
- "across turns": ``--span`` seconds spanning several turns, including the one full page
  rerun per finished turn (which does redraw every finished turn once).

It prints both figures per run and the 200/2 ratios. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

from duet_core.models import BotConfig, Run, RunConfig, RunStatus, Turn, utcnow  # noqa: E402
from duet_core.providers.demo import DemoProvider  # noqa: E402
from duet_core.store import Store  # noqa: E402
from duet_ui.live import REFRESH  # noqa: E402
from tests.browser import ui  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, AppServer  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # fields 14 and 15 of stat(5)


def seed(store: Store, turns: int) -> str:
    """A stopped run with ``turns`` finished demo turns and room for many more."""
    bots = [
        BotConfig(name="Ada", avatar="🦉", temperature=0.7, system_prompt="A scientist."),
        BotConfig(name="Bob", avatar="🦊", temperature=1.0, system_prompt="A poet."),
    ]
    run = Run(
        owner="dev",
        config=RunConfig(topic=f"A run with {turns} turns", max_turns=1000, bots=bots),
        status=RunStatus.STOPPED,
        stop_reason="user",
    )
    store.create_run(run)
    demo = DemoProvider(tokens_per_second=0, seed=1)
    started = utcnow() - timedelta(hours=1)
    for i in range(turns):
        bot = bots[i % 2]
        text = demo.reply(bot.system_prompt, [{"role": "user", "content": f"turn {i}"}], bot)
        store.save_turn(
            run.id,
            Turn(
                index=i,
                bot_index=i % 2,
                bot_name=bot.name,
                content=text,
                config=bot,
                started_at=started,
                finished_at=started,
                input_tokens=100,
                output_tokens=len(text.split()),
                cost_usd=0.0,
                finish_reason="stop",
            ),
        )
    store.set_status(run.id, RunStatus.STOPPED, "user", None, utcnow())
    return run.id


def measure(page: Page, server: AppServer, run_id: str, window: float, span: float) -> tuple:
    page.goto(f"{server.url}/?run={run_id}")
    page.locator(ui.key("continue")).get_by_role("button").click()
    expect(ui.header(page)).to_contain_text("running", timeout=60_000)
    # wait for a turn to start streaming, then measure inside it
    turn = page.locator(ui.live_turn())
    expect(turn).to_have_count(1, timeout=60_000)
    index = (turn.get_attribute("class") or "").split("st-key-live_turn_")[1].split()[0]
    next_turn = ui.key(f"live_turn_{int(index) + 1}")
    page.locator(next_turn).wait_for(timeout=60_000)  # a fresh turn has just started
    ui.wait_text_grows(page, next_turn, 0)
    t0, c0 = time.monotonic(), cpu_seconds(server.pid)
    page.wait_for_timeout(window * 1000)
    within = (cpu_seconds(server.pid) - c0) / (time.monotonic() - t0)
    finished_in_window = page.locator(next_turn).count() == 0

    t0, c0 = time.monotonic(), cpu_seconds(server.pid)
    page.wait_for_timeout(span * 1000)
    across = (cpu_seconds(server.pid) - c0) / (time.monotonic() - t0)
    page.locator(ui.key("stop")).get_by_role("button").click()
    expect(ui.header(page)).to_contain_text("stopped")
    return within, across, finished_in_window


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=3.0, help="seconds inside one turn")
    parser.add_argument("--span", type=float, default=15.0, help="seconds across turns")
    parser.add_argument("--rate", type=float, default=5.0, help="demo tokens per second")
    parser.add_argument("--long", type=int, default=200, help="finished turns of the long run")
    parser.add_argument(
        "--post-script-gc",
        choices=("on", "off"),
        default=None,
        help="override runner.postScriptGC (Streamlit's gc.collect(2) after every script and"
        " fragment run); default: what .streamlit/config.toml says",
    )
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="duet-bench-"))
    url = f"sqlite:///{tmp / 'duet.db'}"
    with Store(url) as store:
        runs = {2: seed(store, 2), args.long: seed(store, args.long)}
    server = AppServer(
        {
            "DUET_DEV_MODE": "1",
            "DUET_DATABASE_URL": url,
            "DUET_DEMO_TOKENS_PER_SECOND": str(args.rate),
            "DUET_MAX_TURNS": "1000",
        },
        tmp / "streamlit.log",
    )
    if args.post_script_gc:
        server.extra_args.append(f"--runner.postScriptGC={args.post_script_gc == 'on'}")
    server.start()
    results = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            for turns, run_id in runs.items():
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = context.new_page()
                results[turns] = measure(page, server, run_id, args.window, args.span)
                context.close()
            browser.close()
    finally:
        server.stop()

    gc = {None: "as configured", "on": "on", "off": "off"}[args.post_script_gc]
    print(
        f"server CPU seconds per second, one viewer, demo at {args.rate:g} tokens/s,"
        f" live refresh every {REFRESH:g} s, runner.postScriptGC {gc}"
    )
    print(f"{'finished turns':>15} {'within a turn':>14} {'across turns':>13}")
    for turns, (within, across, spilled) in results.items():
        note = "  (a turn ended inside the window)" if spilled else ""
        print(f"{turns:>15} {within:>14.4f} {across:>13.4f}{note}")
    (w2, a2, _), (wl, al, _) = results[2], results[args.long]
    print(f"{'ratio':>15} {wl / w2:>14.2f} {al / a2:>13.2f}   ({args.long} turns / 2 turns)")


if __name__ == "__main__":
    main()
