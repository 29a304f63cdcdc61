"""Token-to-screen latency in Chromium: Duet's live view against a one-page st.write_stream app.

    .venv/bin/python bench/live_latency.py [--app /work/main] [--app /tmp/before] [--rate 20]
        [--turns 6] [--rounds 1] [--ttft-ms 0] [--widgets-floor]

A local fake OpenAI server streams unique tokens (``zq003t0017z``: request 3, token 17) at
``--rate`` tokens/s and notes the wall-clock time each one was written to the socket. The
browser page carries a MutationObserver (installed before any page script) that notes the
wall-clock time each token first appears in the DOM. Latency = seen - sent, per token.

The apps in one run, each in its own ``streamlit run`` on the same machine:

- Duet (``--app``: the checkout to measure, e.g. ``/work/before`` or ``/work/main``; repeat
  ``--app`` to measure several checkouts side by side, alternated in each round): a setup
  file with two OpenAI bots pointed at the fake server is loaded, Start pressed, and the run
  watched until it completes (``--turns`` turns).
- the baseline: one page that streams ``--turns`` replies from the same fake server with the
  openai SDK and ``st.write_stream``.

``--widgets-floor`` adds the baseline's page behind a sidebar of Duet's size (18 widgets) and a
few buttons: Streamlit's browser-side cost of each update grows with the page, whatever draws it.

It prints p50/p95/max per app, how many tokens never showed up, each p95 over the baseline's,
the CPU seconds per streamed second of Chromium and of each app's server (from the click to
the end: robust to a busy machine, where wall-clock latencies are not),
and p50/p95 by where a token falls: in the first reply after the click (Duet: Start, with the
page's rerun; the baseline: its button), first in a later reply (a turn boundary), or further on.
It also prints, per app, the median time from the click (Start, Go) to the first token on
screen: what a person waits for. Duet asks the provider for the first reply in the click's own
script run, while the page is still being drawn; the baseline asks only when its script
reaches ``st.write_stream``. With the fake server's instant first token (``--ttft-ms 0``, the
default), the first reply's tokens then wait behind the browser's drawing of the Start page;
``--ttft-ms 300`` (a real provider's think time) shows what happens when they arrive later.
A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from app_process import (
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    TICKS,
    AppProcess,
    cpu_seconds,
    duet_script,
    percentile,
)
from playwright.sync_api import expect, sync_playwright
from token_server import TokenServer
from write_stream_apps import BASELINE_APP, WIDGETS_FLOOR_APP

OBSERVER = """
window.__seen = {};
(() => {
  const re = /zq\\d{3}t\\d{4}z/g;
  const scan = (text, now) => {
    if (!text) return;
    const found = text.match(re);
    if (found) for (const t of found) if (!(t in window.__seen)) window.__seen[t] = now;
  };
  new MutationObserver((records) => {
    const now = performance.timeOrigin + performance.now();
    for (const r of records) {
      if (r.type === 'characterData') scan(r.target.data, now);
      else for (const n of r.addedNodes) scan(n.textContent, now);
    }
  }).observe(document, {subtree: true, childList: true, characterData: true});
})();
"""


def setup_file(tmp: Path, turns: int) -> Path:
    bot = {"provider": "openai", "model": "gpt-4o-mini", "temperature": 0.7}
    setup = {
        "topic": "Latency check",
        "max_turns": turns,
        "bots": [
            {**bot, "name": "Ada", "system_prompt": "A scientist."},
            {**bot, "name": "Bob", "system_prompt": "A poet."},
        ],
    }
    path = tmp / "setup.json"
    path.write_text(json.dumps(setup))
    return path


def chromium_cpu() -> float:
    """CPU seconds of this process's Chromium processes (browser, GPU, renderers), so far."""
    parent: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        comm, rest = text.split(" (", 1)[1].rsplit(") ", 1)
        fields = rest.split()
        pid = int(stat.parent.name)
        parent[pid] = int(fields[1])
        if comm.startswith("chromium") or comm.startswith("chrome"):
            cpu[pid] = (int(fields[11]) + int(fields[12])) / TICKS
    me = os.getpid()

    def mine(pid: int) -> bool:
        while pid > 1:
            pid = parent.get(pid, 0)
            if pid == me:
                return True
        return False

    return sum(seconds for pid, seconds in cpu.items() if mine(pid))


class Costs:
    """CPU seconds of the browser and of the app's server between ``begin`` and ``end``."""

    def __init__(self, app: AppProcess):
        self.app = app
        self.browser = self.server = 0.0
        self.clicked = 0.0  # wall-clock ms of the last click (Start, Go)
        self.first_seen: list[float] = []  # per watch: ms from the click to a token on screen

    def begin(self) -> None:
        self._b, self._s = chromium_cpu(), cpu_seconds(self.app.pid)

    def end(self) -> None:
        self.browser += chromium_cpu() - self._b
        self.server += cpu_seconds(self.app.pid) - self._s


def watch_duet(
    browser, app: AppProcess, setup: Path, timeout_ms: int, costs: Costs
) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_init_script(OBSERVER)
    page = context.new_page()
    page.goto(app.url)
    start = page.locator(".st-key-start").get_by_role("button")
    expect(start).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="Load setup").click()
    page.locator(".st-key-load_setup input[type=file]").set_input_files(setup)
    expect(page.get_by_text("Loaded setup.json.")).to_be_visible(timeout=20_000)
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=20_000)
    costs.begin()
    costs.clicked = page.evaluate("performance.timeOrigin + performance.now()")
    start.click()
    expect(page.locator(".st-key-live_header")).to_contain_text("completed", timeout=timeout_ms)
    costs.end()
    seen = page.evaluate("window.__seen")
    context.close()
    return seen


def watch_baseline(browser, app: AppProcess, timeout_ms: int, costs: Costs) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_init_script(OBSERVER)
    page = context.new_page()
    page.goto(app.url)
    go = page.locator(".st-key-go").get_by_role("button")
    expect(go).to_be_visible(timeout=60_000)
    costs.begin()
    costs.clicked = page.evaluate("performance.timeOrigin + performance.now()")
    go.click()
    expect(page.get_by_text("all replies done")).to_be_visible(timeout=timeout_ms)
    costs.end()
    seen = page.evaluate("window.__seen")
    context.close()
    return seen


def latencies(server: TokenServer, seen: dict[str, float], before: set[str]) -> tuple:
    tokens = [t for t in server.sent if t not in before]
    found = {t: seen[t] - server.sent[t] for t in tokens if t in seen}
    return found, len(tokens) - len(found)


def kind(token: str, first_requests: set[int]) -> str:
    """Where a token falls: in the first reply after a click, first in a later reply, or
    further on in a later reply."""
    request, index = int(token[2:5]), int(token[6:10])
    if request in first_requests:
        return "first reply"
    return "reply start" if index == 0 else "mid-reply"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--app",
        type=Path,
        action="append",
        help="a Duet checkout to measure (repeat it to measure several side by side)",
    )
    parser.add_argument("--rate", type=float, default=20.0, help="tokens per second")
    parser.add_argument("--tokens", type=int, default=40, help="tokens per reply")
    parser.add_argument("--turns", type=int, default=6, help="replies per app")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each app, alternated")
    parser.add_argument(
        "--ttft-ms", type=float, default=0.0, help="the fake server's time to first token"
    )
    parser.add_argument("--slowest", type=int, default=0, help="list the N slowest tokens")
    parser.add_argument("--dump", type=Path, help="write each token's latency (JSON)")
    parser.add_argument(
        "--widgets-floor",
        action="store_true",
        help="also measure the st.write_stream page behind a sidebar of Duet's size",
    )
    args = parser.parse_args()
    apps = args.app or [ROOT]

    tmp = Path(tempfile.mkdtemp(prefix="duet-latency-"))
    server = TokenServer(args.rate, args.tokens, args.ttft_ms / 1000)
    env = {
        "OPENAI_BASE_URL": server.url,
        "OPENAI_API_KEY": "sk-bench",
        "BENCH_TURNS": str(args.turns),
    }
    (tmp / "baseline").mkdir()
    (tmp / "baseline" / "app.py").write_text(textwrap.dedent(BASELINE_APP))
    (tmp / "floor").mkdir()
    (tmp / "floor" / "app.py").write_text(textwrap.dedent(WIDGETS_FLOOR_APP))
    names = [f"Duet {i + 1}" if len(apps) > 1 else "Duet" for i in range(len(apps))]
    duets = [
        AppProcess(
            app,
            duet_script(app),
            {
                **env,
                "DUET_DEV_MODE": "1",
                "DUET_DATABASE_URL": f"sqlite:///{tmp / f'duet{i}.db'}",
            },
            tmp / f"duet{i}.log",
        )
        for i, app in enumerate(apps)
    ]
    baseline = AppProcess(tmp / "baseline", "app.py", env, tmp / "baseline.log")
    others = {"st.write_stream": baseline}
    if args.widgets_floor:
        others["+ Duet's widgets"] = AppProcess(tmp / "floor", "app.py", env, tmp / "floor.log")
    timeout_ms = int((args.turns * args.tokens / args.rate + 60) * 1000)
    setup = setup_file(tmp, args.turns)
    first_requests: set[int] = set()
    try:
        for app in (*duets, *others.values()):
            app.start()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            results = {name: ({}, 0) for name in (*names, *others)}
            costs = {name: Costs(app) for name, app in zip(names, duets, strict=True)}
            costs.update({name: Costs(app) for name, app in others.items()})
            watches = [
                (
                    name,
                    lambda app=app, c=costs[name]: watch_duet(browser, app, setup, timeout_ms, c),
                )
                for name, app in zip(names, duets, strict=True)
            ]
            watches += [
                (name, lambda app=app, c=costs[name]: watch_baseline(browser, app, timeout_ms, c))
                for name, app in others.items()
            ]
            for _ in range(args.rounds):  # alternate, so all see the same load on this machine
                for name, watch in watches:
                    done = set(server.sent)
                    first_requests.add(server.requests + 1)
                    seen = watch()
                    found, missed = latencies(server, seen, done)
                    fresh = [seen[t] for t in found]
                    if fresh:
                        costs[name].first_seen.append(min(fresh) - costs[name].clicked)
                    pooled, missed_before = results[name]
                    results[name] = ({**pooled, **found}, missed_before + missed)
            browser.close()
    finally:
        for app in (*duets, *others.values()):
            app.stop()
        server.stop()

    load = Path("/proc/loadavg").read_text().split()[:3]
    print(
        f"token-to-screen latency (ms), Chromium MutationObserver, {args.rate:g} tokens/s,"
        f" {args.rounds} x {args.turns} replies of {args.tokens} tokens,"
        f" time to first token {args.ttft_ms:g} ms; load {' '.join(load)}"
    )
    for name, app in zip(names, apps, strict=True):
        print(f"{name}: {app}")
    print(
        f"{'app':>16} {'tokens':>7} {'missed':>7} {'p50':>8} {'p95':>8} {'max':>8}"
        f" {'p50/base':>9} {'p95/base':>9}"
    )
    figures = {}
    for name, (by_token, _) in results.items():
        found = list(by_token.values())
        figures[name] = (percentile(found, 0.5), percentile(found, 0.95), max(found))
    b50, b95, _ = figures["st.write_stream"]
    for name, (_, missed) in results.items():
        p50, p95, top = figures[name]
        print(
            f"{name:>16} {len(results[name][0]):>7} {missed:>7} {p50:>8.1f} {p95:>8.1f}"
            f" {top:>8.1f} {p50 / b50:>9.2f} {p95 / b95:>9.2f}"
        )
    streamed = args.rounds * args.turns * args.tokens / args.rate
    print(f"CPU seconds per streamed second ({streamed:g} s streamed per app):")
    for name, c in costs.items():
        print(
            f"{name:>16}  browser (Chromium) {c.browser / streamed:.3f}"
            f"  server {c.server / streamed:.3f}"
        )
    print("click to the first token on screen (median ms over the rounds):")
    for name, c in costs.items():
        print(f"{name:>16}  {percentile(c.first_seen, 0.5):.0f}")
    print("by where the token falls (p50 / p95 ms, tokens):")
    for name, (by_token, _) in results.items():
        parts = {}
        for token, ms in by_token.items():
            parts.setdefault(kind(token, first_requests), []).append(ms)
        text = "  ".join(
            f"{k} {percentile(v, 0.5):.0f} / {percentile(v, 0.95):.0f} ({len(v)})"
            for k, v in sorted(parts.items())
        )
        print(f"{name:>16}  {text}")
    for name, (by_token, _) in results.items():
        if args.slowest:
            slow = sorted(by_token.items(), key=lambda kv: -kv[1])[: args.slowest]
            print(f"{name} slowest: " + ", ".join(f"{t} {ms:.0f}" for t, ms in slow))
    if args.dump:
        dump = {"sent": server.sent, "latency": {n: r[0] for n, r in results.items()}}
        args.dump.write_text(json.dumps(dump))


if __name__ == "__main__":
    main()
