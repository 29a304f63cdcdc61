"""The HTTP API over real HTTP: ``create_api`` served by uvicorn on 127.0.0.1 (a free port) in a
thread, a temp database, accounts in a temp auth file, and providers that are either the
scripted one (bots whose provider is ``demo``: a test decides each token and when it comes) or
the real SDKs pointed at the local fake server (``tests/providers/provider_fakes.py``)."""

from __future__ import annotations

import base64
import contextlib
import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from duet_api.app import api_mount
from duet_api.routes.health import health_route
from duet_core import catalog
from duet_core.accounts import AccountsFile
from duet_core.batch.app_worker import stop_worker
from duet_core.models import BotConfig
from duet_core.providers import clear_client_cache, make_provider
from duet_core.providers.scripted import ScriptedProvider
from duet_core.run.manager import RunManager
from duet_core.services import Services
from duet_core.settings import Settings
from duet_core.store import Store
from duet_core.store.tokens import ApiTokens
from tests.providers.provider_fakes import API_KEY, DEADLINE, FakeServer

PASSWORD = "correct-horse-7"
USERS = {"alice": "user", "bob": "user", "fran": "facilitator", "root": "admin"}
FIXTURES = Path(__file__).resolve().parents[2] / "examples" / "fixtures"


class ReadyServer(uvicorn.Server):
    """uvicorn that says when it listens."""

    def __init__(self, config: uvicorn.Config):
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()


@pytest.fixture(autouse=True)
def _offline_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No real key from the environment, and SDK defaults that point nowhere."""
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "DUET_COMPATIBLE_API_KEY", "DUET_DEV_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    clear_client_cache()


@pytest.fixture(scope="session", autouse=True)
def _sdks_imported() -> None:
    """The SDKs imported once, before any server starts (the app warms them at start too): a
    first import on a busy machine can take longer than a client's read timeout."""
    import anthropic  # noqa: F401
    import openai  # noqa: F401


@pytest.fixture(scope="session")
def auth_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One accounts file for the session (bcrypt is slow on purpose)."""
    path = tmp_path_factory.mktemp("auth") / "auth.yaml"
    accounts = AccountsFile(path, on_create=lambda *_: None)
    for user, role in USERS.items():
        accounts.add_user(user, PASSWORD, roles=[role])
    return path


class TestProviders:
    """Bots on ``demo`` get the scripted provider; every other bot its real SDK provider."""

    def __init__(self, settings: Settings, scripted: ScriptedProvider):
        self.settings = settings
        self.scripted = scripted
        self.scripted_only = False  # every bot on the scripted provider (fuzzing: no network)

    def __call__(self, bot: BotConfig, keys: Mapping[str, str] | None = None):
        if bot.provider == "demo" or self.scripted_only:
            return self.scripted
        return make_provider(bot, self.settings, dict(keys or {}))

    def with_keys(self, keys):
        return lambda bot: self(bot, keys)


@dataclass
class Api:
    """A served API and what it is made of."""

    root: str  # http://127.0.0.1:PORT
    services: Services
    scripted: ScriptedProvider
    fake: FakeServer
    tokens: dict[str, str] = field(default_factory=dict)
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.root + "/api"

    @property
    def store(self) -> Store:
        return self.services.store

    def client(self, user: str | None = "alice", **headers: str) -> httpx.Client:
        """A client acting as ``user`` (a token), or without credentials (None)."""
        if user is not None:
            headers.setdefault("Authorization", f"Bearer {self.token(user)}")
        c = httpx.Client(base_url=self.url, headers=headers, timeout=DEADLINE * 6)
        self.clients.append(c)
        return c

    def token(self, user: str) -> str:
        if user not in self.tokens:
            _, self.tokens[user] = ApiTokens(self.store).create(user, "tests")
        return self.tokens[user]

    def basic(self, user: str, password: str = PASSWORD) -> httpx.Client:
        raw = base64.b64encode(f"{user}:{password}".encode()).decode()
        return self.client(None, Authorization=f"Basic {raw}")


@contextlib.contextmanager
def serving(app) -> Iterator[str]:
    """``app`` served by uvicorn on a free port of 127.0.0.1: its root URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = ReadyServer(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert server.ready.wait(10), "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def served_app(services) -> Starlette:
    """The API as ``serve.py`` serves it: under ``/api``, with ``/health`` at the root."""
    return Starlette(routes=[api_mount(services), health_route(services)])


def make_settings(tmp_path: Path, auth_file: Path, fake: FakeServer, **kw: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'duet.db'}",
        "auth_file": auth_file,
        "runs_per_minute": 1000,
        "max_active_runs": 8,
        "fixtures_dir": FIXTURES,
        "OPENAI_API_KEY": API_KEY,
        "ANTHROPIC_API_KEY": API_KEY,
        "OPENAI_BASE_URL": f"{fake.url}/v1",
        "ANTHROPIC_BASE_URL": fake.url,
        "max_retries": 0,
        "request_timeout": DEADLINE,
    }
    values.update(kw)
    return Settings(**values, _env_file=None)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module (or with ``@pytest.mark.parametrize``) to change settings."""
    return {}


@pytest.fixture
def api(tmp_path: Path, auth_file: Path, settings_overrides: dict[str, Any]) -> Iterator[Api]:
    fake = FakeServer().start()
    settings = make_settings(tmp_path, auth_file, fake, **settings_overrides)
    store = Store(settings.database_url)
    scripted = ScriptedProvider()
    providers = TestProviders(settings, scripted)
    prices = catalog.load_prices(None)
    manager = RunManager(store, settings, provider_factory=providers, prices=prices)
    services = Services(settings, store, manager, providers, prices)  # type: ignore[arg-type]
    with serving(served_app(lambda: services)) as root:
        served = Api(root, services, scripted, fake)
        yield served
        for c in served.clients:
            c.close()
        stop_worker(services)  # the experiments' worker, if a test started one
        manager.stop_all()
        manager.close()
    store.close()
    fake.stop()
    clear_client_cache()


# --- runs and streams --------------------------------------------------------------------


def run_config(turns: int = 2, topic: str = "Is maths invented?", **bot: Any) -> dict[str, Any]:
    """A run config as JSON: two bots on the scripted provider unless ``bot`` says otherwise."""
    bots = [{"name": "Ada", **bot}, {"name": "Bob", **bot}]
    return {"topic": topic, "max_turns": turns, "bots": bots}


GPT = {"provider": "openai", "model": "gpt-4.1-mini", "temperature": 0.7}


@dataclass
class SSE:
    event: str | None
    id: str | None
    data: Any
    comment: str | None = None

    @property
    def type(self) -> str | None:
        return self.data["type"] if isinstance(self.data, dict) else None


def sse_events(lines: Iterator[str]) -> Iterator[SSE]:
    """The events (and comments) of a Server-Sent Events stream, as they arrive."""
    event = ident = None
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                yield SSE(event, ident, json.loads("\n".join(data)))
            event = ident = None
            data = []
        elif line.startswith(":"):
            yield SSE(None, None, None, comment=line[1:].strip())
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("id:"):
            ident = line[3:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip(" "))
    if data:
        yield SSE(event, ident, json.loads("\n".join(data)))


def data_events(lines: Iterator[str]) -> Iterator[SSE]:
    return (e for e in sse_events(lines) if e.comment is None)


def read_until(events: Iterator[SSE], kind: str) -> list[SSE]:
    """Events up to and including the first of type ``kind``."""
    seen = []
    for e in events:
        seen.append(e)
        if e.type == kind:
            return seen
    raise AssertionError(f"the stream ended without {kind!r}: {[e.type for e in seen]}")
