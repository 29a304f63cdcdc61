"""The browser half of bench/history_scale.py, side by side: every checkout's app and two
floor pages run at once and are measured in turn, round after round, so each figure of each
checkout is taken in the same minute as the others' (this host's load swings from 2 to 17).

What is timed, in headless Chromium, each as wall time, the app server's CPU seconds and
Chromium's CPU seconds (all its processes; both barely moved by the host's load):
- History ready: ``/history`` opened until the range caption ("of 10,001") shows, the table's
  canvas is drawn and the app is idle (no running-man status);
- the 200-turn run by URL (``/history?run=long200``) until its last turn shows and the app is
  idle; and by click: History open, its first row ticked, until the same;
- a search typed into the page until the table has the rare word's runs.

Cold: a fresh browser context (empty HTTP cache, as the first visit). Warm: a new tab of a
context that already opened the app (cached scripts, as every later visit: Streamlit serves
its hashed bundles as ``immutable``). Both open a new Streamlit session.

The floors: a three-line page, and a page with the same five filters, a 50-row selectable
table and the page number (what any History must draw); its click is a row ticked.
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
# words the generator (history_scale.child_generate) plants: rare, common, absent, and the
# last turn of the long run
RARE, COMMON, NOTHING = "quetzalcoatl", "river", "xylophonist"
LAST_TURN_MARK = "closingremarkzebra"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class App:
    def __init__(self, code: Path, db: str, log: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
        env |= {"DUET_DEV_MODE": "1", "DUET_DATABASE_URL": db, "DUET_LOG_LEVEL": "WARNING"}
        env["PYTHONPATH"] = str(code)
        args = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true"]
        args += ["--server.address=127.0.0.1", f"--server.port={self.port}"]
        args += ["--server.fileWatcherType=none", "--browser.gatherUsageStats=false"]
        self.log = log.open("wb")
        self.proc = subprocess.Popen(args, cwd=code, env=env, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=1):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                try:
                    self.proc.wait(timeout=0.2)
                    break
                except subprocess.TimeoutExpired:
                    pass
        raise RuntimeError(f"the app in {code} did not start; see {log}")

    def cpu_s(self) -> float:
        """The server process's CPU seconds so far (user + system): unlike wall time in the
        browser, barely moved by other work on a busy host."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def _idle(page) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=120_000)


FLOOR_APP = """import streamlit as st
st.title("History")
st.caption("of 1")
"""

WIDGETS_FLOOR_APP = """import datetime as dt
import pandas as pd
import streamlit as st
st.set_page_config(page_title="Floor", layout="wide")
st.title("History")
c1, c2, c3, c4, c5 = st.columns([2, 1.3, 1.3, 1.6, 2])
c1.multiselect("Status", ["running", "completed", "stopped"], key="status")
c2.selectbox("Provider", ["demo", "openai", "anthropic"], index=None, key="provider")
c3.text_input("Model", key="model")
c4.date_input("Dates", value=(), key="dates")
c5.text_input("Search", key="search")
when = dt.datetime(2026, 1, 1)
frame = pd.DataFrame([{"run": f"run{i:06d}", "when": when, "topic": f"Debate {i}: a topic",
    "bot 1": "Ada (demo/duet-demo)", "bot 2": "Bo (demo/duet-demo)", "turns": 20,
    "status": "completed", "tokens": 4000, "cost (USD)": 0.002, "duration (s)": 200.0}
    for i in range(50)])
table = st.dataframe(frame, key="history_table", on_select="rerun",
                     selection_mode="multi-row", hide_index=True)
st.number_input("Page", 1, 201, key="page")
st.caption("1–50 of {n:,}")
if table.selection.rows:
    st.caption(f"picked {frame['run'][table.selection.rows[0]]}")
"""

ROW_Y = 35 + 17  # the first data row of a table: below the 35 px header, mid-row


def copy_database(url: str, tag: str) -> str:
    """A copy of the generated database for one checkout, so that each app can run its own
    migrations while the others run theirs (an older checkout cannot open a newer schema)."""
    if url.startswith("sqlite:///"):
        source = url.removeprefix("sqlite:///")
        target = f"{source}.{tag}"
        shutil.copyfile(source, target)
        return f"sqlite:///{target}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = f"{parsed.database}_{tag}"
    engine = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{parsed.database}"'))
    finally:
        engine.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


@dataclass
class Target:
    """One app under test and the figures taken from it, round after round."""

    name: str
    app: App
    floor: bool = False
    warm: object = None  # a browser context that has opened this app once
    figures: dict[str, list[float]] = field(default_factory=dict)

    def add(self, key: str, value: float) -> None:
        self.figures.setdefault(key, []).append(value)


class Clock:
    """Wall time, the app server's CPU and Chromium's CPU (every process) around one action."""

    def __init__(self, browser):
        self.cdp = browser.new_browser_cdp_session()

    def chromium_cpu_s(self) -> float:
        info = self.cdp.send("SystemInfo.getProcessInfo")["processInfo"]
        return sum(p["cpuTime"] for p in info)

    def start(self, app: App) -> tuple[float, float, float]:
        return time.perf_counter(), app.cpu_s(), self.chromium_cpu_s()

    def stop(self, target: Target, key: str, started: tuple[float, float, float]) -> None:
        """Before the page closes: a closed tab's process takes its CPU seconds with it."""
        t0, c0, b0 = started
        target.add(f"{key}_s", time.perf_counter() - t0)
        target.add(f"{key}_cpu_s", target.app.cpu_s() - c0)
        target.add(f"{key}_browser_cpu_s", self.chromium_cpu_s() - b0)


def side_by_side(
    dbs: dict[Path, str], n_runs: int, rare_total: int, tmp: Path, rounds: int = 3
) -> dict:
    """Every checkout (``dbs``: its code and its copy of the database) and the two floors,
    measured in turn for ``rounds`` rounds after a warm-up; medians per checkout."""
    import re

    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=120_000)
    floors = {
        "floor": FLOOR_APP,
        "floor_widgets": WIDGETS_FLOOR_APP.replace("{n:,}", f"{n_runs:,}"),
    }
    targets: list[Target] = []
    try:
        for code, db in dbs.items():
            targets.append(Target(str(code), App(code, db, tmp / f"streamlit-{code.name}.log")))
        for name, source in floors.items():
            folder = tmp / name
            folder.mkdir(exist_ok=True)
            (folder / "app.py").write_text(source)
            app = App(folder, "sqlite://", tmp / f"streamlit-{name}.log")
            targets.append(Target(name, app, floor=True))
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            clock = Clock(browser)

            def context():
                ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
                ctx.set_default_timeout(120_000)
                return ctx

            def history(t: Target, page) -> None:
                if t.name == "floor":
                    page.goto(t.app.url)
                    expect(page.get_by_text("of 1")).to_be_visible()
                else:
                    page.goto(t.app.url if t.floor else f"{t.app.url}/history")
                    expect(page.get_by_text(f"of {n_runs:,}")).to_be_visible()
                    page.locator(".st-key-history_table canvas").first.wait_for()  # grid drawn
                _idle(page)

            def long_run_shown(page) -> None:
                expect(page.get_by_text(LAST_TURN_MARK, exact=False).first).to_be_visible()
                _idle(page)

            def one_round(t: Target, measured: bool) -> None:
                cold = context()  # History, cold
                page = cold.new_page()
                started = clock.start(t.app)
                history(t, page)
                if measured:
                    clock.stop(t, "history_ready", started)
                cold.close()
                if t.warm is None:
                    t.warm = context()
                    page = t.warm.new_page()
                    history(t, page)
                    page.close()
                page = t.warm.new_page()  # History, warm
                started = clock.start(t.app)
                history(t, page)
                if measured:
                    clock.stop(t, "history_warm", started)
                if t.name == "floor":
                    page.close()
                    return
                box = page.locator(".st-key-history_table").bounding_box()
                started = clock.start(t.app)  # the first row ticked: the long run / a rerun
                page.mouse.click(box["x"] + 15, box["y"] + ROW_Y)
                if t.floor:
                    expect(page.get_by_text("picked run000000")).to_be_visible()
                    _idle(page)
                else:
                    long_run_shown(page)
                if measured:
                    clock.stop(t, "run_page_click", started)
                page.close()
                if t.floor:
                    return
                for key, ctx in (("run_page_url", context()), ("run_page_url_warm", t.warm)):
                    page = ctx.new_page()
                    started = clock.start(t.app)
                    page.goto(f"{t.app.url}/history?run=long200")
                    long_run_shown(page)
                    if measured:
                        clock.stop(t, key, started)
                    page.close()
                    if ctx is not t.warm:
                        ctx.close()
                page = t.warm.new_page()  # a search typed
                history(t, page)
                box = page.locator(".st-key-history_search input")
                started = clock.start(t.app)
                box.fill(RARE)
                box.press("Enter")
                expect(page.get_by_text(re.compile(rf"\bof {rare_total}$"))).to_be_visible()
                _idle(page)
                if measured:
                    clock.stop(t, "search_page", started)
                page.close()

            for r in range(rounds + 1):  # round 0 warms up: imports, caches, first session
                for t in targets:
                    one_round(t, measured=r > 0)
            browser.close()
    finally:
        for t in targets:
            t.app.stop()
    return {t.name: {k: statistics.median(v) for k, v in t.figures.items()} for t in targets}


ROWS = (
    ("history_ready", "History ready, cold"),
    ("history_warm", "History ready, warm"),
    ("run_page_url", "200-turn run by URL, cold"),
    ("run_page_url_warm", "200-turn run by URL, warm"),
    ("run_page_click", "200-turn run by click"),
    ("search_page", "search typed, page ready"),
)


def report(results: dict, names: list[str]) -> None:
    """The browser figures side by side: each checkout, the two floors, and the ratios
    last/first (after/before) and last/widgets floor."""
    columns = [*names, "floor_widgets", "floor"]
    cells = [results.get(n, {}) for n in columns]
    print(
        "\nin Chromium, side by side (medians; s = wall, srv = server CPU s, chr = Chromium"
        " CPU s);\nfloors: a page with History's widgets and table, a 3-line page"
    )
    header = f"{'':34}" + "".join(f"{Path(n).name or n:>15}" for n in columns)
    print(header + f"{'last/first':>12}{'last/widgets':>13}")
    for key, label in ROWS:
        for suffix, unit in (("_s", "s"), ("_cpu_s", "srv"), ("_browser_cpu_s", "chr")):
            values = [c.get(key + suffix) for c in cells]
            if all(v is None for v in values):
                continue
            line = "".join(f"{'—' if v is None else f'{v:.3f}':>15}" for v in values)
            last, first, floor = values[len(names) - 1], values[0], values[len(names)]
            ratio = f"{last / first:12.2f}" if last and first and len(names) > 1 else " " * 12
            ratio += f"{last / floor:13.2f}" if last and floor else ""
            print(f"{label + ' ' + unit:34}{line}{ratio}")
