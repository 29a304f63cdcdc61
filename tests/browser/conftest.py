"""Browser end-to-end fixtures: the app under ``streamlit run``, headless Chromium, a fake LLM.

Each test module gets one app server (a subprocess on a free port, its own temp SQLite file),
started with a deadline on ``/_stcore/health`` and killed afterwards. The file watcher is off:
a source file changed while the suite runs must not reload modules under a live server.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.browser.fake_llm import FakeLLM

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
STARTUP_DEADLINE = 40.0  # seconds for the server to answer /_stcore/health
TIMEOUT = 40_000  # ms: Playwright's default wait in these tests (a bound: a loaded machine is slow)
DEMO_TOKENS_PER_SECOND = "8"  # a demo turn takes a few seconds: tokens visibly arrive
USER, PASSWORD = "alice", "correct-horse-42"
SECRET_ENV = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_BASE_URL",
    "DUET_COMPATIBLE_API_KEY",
    "OPENAI_COMPATIBLE_API_KEY",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.browser)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """``streamlit run serve.py`` (as ``make run``) in a subprocess; ``script="app.py"``: the
    app without the turn stream's route (every token drawn through the page)."""

    def __init__(self, env: dict[str, str], log: Path, script: str = "serve.py"):
        self.script = script
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        base = {k: v for k, v in os.environ.items() if k not in SECRET_ENV}
        self.env = {
            **base,
            "DUET_DEMO_TOKENS_PER_SECOND": DEMO_TOKENS_PER_SECOND,
            "DUET_MAX_ACTIVE_RUNS": "50",
            "DUET_LOG_LEVEL": "WARNING",
            **env,
        }
        self.proc: subprocess.Popen | None = None
        self.extra_args: list[str] = []

    def start(self) -> AppServer:
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
            *self.extra_args,
        ]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        self._wait_healthy()
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_DEADLINE
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=1) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            try:  # waits for the process, not a fixed sleep: returns at once if it died
                self.proc.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                continue
            break
        self.stop()
        raise RuntimeError(f"the app did not start:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    @property
    def pid(self) -> int:
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


def write_auth_file(path: Path, users: dict[str, tuple[str, str]]) -> None:
    """An auth file with bcrypt hashes: {username: (password, role)}."""
    import streamlit_authenticator as stauth

    path.write_text(
        yaml.safe_dump(
            {
                "cookie": {"name": "duet_auth", "key": secrets.token_urlsafe(48), "expiry_days": 1},
                "credentials": {
                    "usernames": {
                        name: {
                            "email": f"{name}@example.com",
                            "first_name": name.capitalize(),
                            "last_name": "",
                            "password": stauth.Hasher.hash(password),
                            "roles": [role],
                        }
                        for name, (password, role) in users.items()
                    }
                },
            }
        )
    )


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def fake_llm() -> Iterator[FakeLLM]:
    server = FakeLLM().start()
    yield server
    server.stop()


def dev_server(tmp: Path, fake_llm: FakeLLM, script: str = "serve.py") -> AppServer:
    """Development mode (no login), demo provider, OpenAI and Anthropic pointed at the fake."""
    return AppServer(
        {
            "DUET_DEV_MODE": "1",
            "DUET_DATABASE_URL": f"sqlite:///{tmp / 'duet.db'}",
            "OPENAI_BASE_URL": f"{fake_llm.url}/v1",
            "ANTHROPIC_BASE_URL": fake_llm.url,
            "OPENAI_API_KEY": "sk-fake-openai",
            "ANTHROPIC_API_KEY": "sk-fake-anthropic",
        },
        tmp / "streamlit.log",
        script=script,
    )


@pytest.fixture(scope="module")
def app_server(tmp_path_factory: pytest.TempPathFactory, fake_llm: FakeLLM) -> Iterator[AppServer]:
    """The app as ``make run`` serves it (``serve.py``), in development mode."""
    server = dev_server(tmp_path_factory.mktemp("app"), fake_llm).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def plain_app_server(
    tmp_path_factory: pytest.TempPathFactory, fake_llm: FakeLLM
) -> Iterator[AppServer]:
    """``streamlit run app.py``: no turn stream route, every token drawn through the page."""
    server = dev_server(tmp_path_factory.mktemp("plain"), fake_llm, script="app.py").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def login_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """Login required: an auth file with one known user."""
    tmp = tmp_path_factory.mktemp("login")
    auth_file = tmp / "auth.yaml"
    write_auth_file(auth_file, {USER: (PASSWORD, "user")})
    server = AppServer(
        {
            "DUET_DEV_MODE": "0",
            "DUET_AUTH_FILE": str(auth_file),
            "DUET_DATABASE_URL": f"sqlite:///{tmp / 'duet.db'}",
        },
        tmp / "streamlit.log",
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


@pytest.fixture
def page(browser, request: pytest.FixtureRequest, tmp_path: Path):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    yield page
    if request.node.stash.get(FAILED, False) and not page.is_closed():
        shot = tmp_path / "failure.png"
        page.screenshot(path=shot, full_page=True)
        print(f"screenshot of the failed page: {shot}")
    context.close()
