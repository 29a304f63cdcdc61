"""Shared by the browser benchmarks: a Streamlit app of any checkout in a subprocess, and
Chromium's launch options.

The app directory is a parameter (``--app /work/before`` or ``--app /work/main``), so the same
benchmark measures the code before and after a change. The interpreter is this one (the
project's ``.venv``); only the app's own files come from ``app_dir``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SECRET_ENV = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL")
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # fields 14 and 15 of stat(5)


def duet_script(app_dir: Path) -> str:
    """What ``make run`` starts in a Duet checkout: ``serve.py`` (st.App with the live text
    feed's route) where there is one, ``app.py`` in older checkouts."""
    return "serve.py" if (Path(app_dir) / "serve.py").exists() else "app.py"


class AppProcess:
    """``streamlit run SCRIPT`` with ``cwd=app_dir``, on a free port."""

    def __init__(self, app_dir: Path, script: str, env: dict[str, str], log: Path):
        self.app_dir, self.script, self.log = Path(app_dir), script, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        base = {k: v for k, v in os.environ.items() if k not in SECRET_ENV}
        self.env = {"DUET_LOG_LEVEL": "WARNING", "DUET_MAX_ACTIVE_RUNS": "50", **base, **env}
        self.proc: subprocess.Popen | None = None

    def start(self, deadline: float = 60.0) -> AppProcess:
        command = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            self.script,
            "--server.headless=true",
            "--server.address=127.0.0.1",
            f"--server.port={self.port}",
            "--server.fileWatcherType=none",
            "--browser.gatherUsageStats=false",
        ]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                command, cwd=self.app_dir, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=1) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            try:
                self.proc.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                continue
            break
        self.stop()
        raise RuntimeError(f"the app did not start: see {self.log}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run_in_app(app_dir: Path, code: str, *args: str) -> str:
    """Run ``code`` with the app's own packages (cwd and sys.path = ``app_dir``); its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=app_dir,
        env={**os.environ, "PYTHONPATH": str(app_dir)},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"seeding failed:\n{done.stderr[-2000:]}")
    return done.stdout.strip()


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]
