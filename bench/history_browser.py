"""The browser half of bench/history_scale.py: History's first render, a search typed and a
long run opened, timed in headless Chromium against one checkout's app; and the same wait on a
three-line Streamlit page (the floor)."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
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


def floor_figure(tmp: Path) -> float:
    """The same wait on a three-line Streamlit page: what any page costs on this machine."""
    from playwright.sync_api import expect, sync_playwright

    folder = tmp / "floor"
    folder.mkdir(exist_ok=True)
    (folder / "app.py").write_text(FLOOR_APP)
    app = App(folder, "sqlite://", tmp / "streamlit-floor.log")
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            times = []
            for _ in range(4):
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = context.new_page()
                t0 = time.perf_counter()
                page.goto(app.url)
                expect(page.get_by_text("of 1")).to_be_visible(timeout=120_000)
                _idle(page)
                times.append(time.perf_counter() - t0)
                context.close()
            browser.close()
    finally:
        app.stop()
    return statistics.median(times[1:])


def browser_figures(code: Path, db: str, n_runs: int, rare_total: int, tmp: Path) -> dict:
    import re

    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=120_000)
    app = App(code, db, tmp / f"streamlit-{code.name}.log")
    out: dict[str, float] = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

            def fresh():
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                context.set_default_timeout(120_000)
                return context, context.new_page()

            def history_ready(page, cpu: list[float] | None = None) -> float:
                t0, c0 = time.perf_counter(), app.cpu_s()
                page.goto(f"{app.url}/history")
                expect(page.get_by_text(f"of {n_runs:,}")).to_be_visible(timeout=120_000)
                page.locator(".st-key-history_table canvas").first.wait_for()  # grid drawn
                _idle(page)
                if cpu is not None:
                    cpu.append(app.cpu_s() - c0)
                return time.perf_counter() - t0

            context, page = fresh()  # warm-up: the first session imports the app's modules
            history_ready(page)
            context.close()
            ready, ready_cpu = [], []
            for _ in range(3):
                context, page = fresh()
                ready.append(history_ready(page, ready_cpu))
                context.close()
            out["history_ready_s"] = statistics.median(ready)
            out["history_ready_cpu_s"] = statistics.median(ready_cpu)

            context, page = fresh()
            history_ready(page)
            box = page.locator(".st-key-history_search input")
            t0 = time.perf_counter()
            box.fill(RARE)
            box.press("Enter")
            expect(page.get_by_text(re.compile(rf"\bof {rare_total}$"))).to_be_visible()
            _idle(page)
            out["search_page_s"] = time.perf_counter() - t0
            context.close()

            opened, opened_cpu = [], []
            for _ in range(3):
                context, page = fresh()
                t0, c0 = time.perf_counter(), app.cpu_s()
                page.goto(f"{app.url}/history?run=long200")
                expect(page.get_by_text(LAST_TURN_MARK, exact=False).first).to_be_visible()
                _idle(page)
                opened.append(time.perf_counter() - t0)
                opened_cpu.append(app.cpu_s() - c0)
                context.close()
            out["run_page_url_s"] = statistics.median(opened)
            out["run_page_url_cpu_s"] = statistics.median(opened_cpu)
            browser.close()
    finally:
        app.stop()
    return out
