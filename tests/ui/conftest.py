"""AppTest fixtures: a temp database and auth file per test, known accounts, seeded runs.

``services()`` and the auth file are ``st.cache_resource`` objects shared by the whole
process, so the cache is cleared (and the run manager stopped) around every test.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest
import streamlit as st
import streamlit_authenticator as stauth
import yaml
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryFile, MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as app_test_module

from duet_core.batch.app_worker import stop_worker
from duet_core.models import BotConfig, Run, RunConfig, RunStatus, Turn
from duet_core.services import forget_services
from duet_core.store import Store
from duet_ui.shell.login import SIGNING_IN
from duet_ui.shell.services import services

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PASSWORDS = {"admin": "admin-secret-1", "alice": "alice-secret-1", "bob": "bob-secret-1"}
ROLES = {"admin": ["admin"], "alice": ["user"], "bob": ["user"]}
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Env:
    db_url: str
    auth_file: Path


def _shutdown_services() -> None:
    try:
        svc = services()
    except Exception:  # never created, or its database is gone already
        return
    stop_worker(svc)  # the experiments' worker, if the Experiments page started it
    svc.manager.stop_all(timeout=5)
    svc.store.close()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    db_url = f"sqlite:///{tmp_path / 'duet.db'}"
    auth_file = tmp_path / "auth" / "auth.yaml"
    monkeypatch.setenv("DUET_DATABASE_URL", db_url)
    monkeypatch.setenv("DUET_AUTH_FILE", str(auth_file))
    monkeypatch.setenv("DUET_DEMO_TOKENS_PER_SECOND", "0")
    monkeypatch.delenv("DUET_DEV_MODE", raising=False)
    st.cache_resource.clear()
    forget_services()
    yield Env(db_url, auth_file)
    _shutdown_services()
    st.cache_resource.clear()
    forget_services()


@pytest.fixture(scope="session")
def password_hashes() -> dict[str, str]:
    return {user: stauth.Hasher.hash(pw) for user, pw in PASSWORDS.items()}


@pytest.fixture
def accounts(env: Env, password_hashes: dict[str, str]) -> dict[str, str]:
    """An auth file with admin (role admin), alice and bob (role user); their passwords."""
    env.auth_file.parent.mkdir(parents=True, exist_ok=True)
    env.auth_file.write_text(
        yaml.safe_dump(
            {
                "cookie": {"name": "duet_test", "key": secrets.token_urlsafe(48), "expiry_days": 1},
                "credentials": {
                    "usernames": {
                        user: {
                            "email": f"{user}@example.com",
                            "first_name": user.title(),
                            "last_name": "",
                            "password": password_hashes[user],
                            "roles": ROLES[user],
                        }
                        for user in PASSWORDS
                    }
                },
            }
        ),
        encoding="utf-8",
    )
    return dict(PASSWORDS)


@pytest.fixture
def store(env: Env) -> Iterator[Store]:
    s = Store(env.db_url)
    yield s
    s.close()


def bot(name: str, provider: str = "demo", model: str = "duet-demo", **kw) -> BotConfig:
    return BotConfig(name=name, provider=provider, model=model, **kw)


def seed_run(
    store: Store,
    owner: str,
    topic: str = "Cats or dogs?",
    status: RunStatus = RunStatus.COMPLETED,
    turns: int = 2,
    created_at: datetime = T0,
    bots: tuple[BotConfig, BotConfig] | None = None,
    contents: list[str] | None = None,
    stop_reason: str | None = "max_turns",
    error: str | None = None,
) -> Run:
    """A saved run with ``turns`` bot turns (alternating), written through the Store."""
    bots = bots or (bot("Ann", temperature=0.7), bot("Bob", temperature=0.7))
    run = Run(
        owner=owner,
        config=RunConfig(topic=topic, max_turns=max(turns, 1), bots=list(bots)),
        created_at=created_at,
    )
    store.create_run(run)
    for i in range(turns):
        b = i % 2
        turn = Turn(
            index=i,
            bot_index=b,
            bot_name=bots[b].name,
            content=(contents or [])[i] if contents and i < len(contents) else f"Reply {i + 1}",
            config=bots[b],
            started_at=created_at + timedelta(seconds=i),
            finished_at=created_at + timedelta(seconds=i + 1),
            ttft_ms=100.0 + i,
            latency_ms=900.0 + i,
            input_tokens=10 + i,
            output_tokens=20 + i,
            cost_usd=0.0,
            finish_reason="stop",
        )
        store.save_turn(run.id, turn)
        run.turns.append(turn)
    store.set_status(run.id, status, stop_reason=stop_reason, error=error)
    run.status, run.stop_reason, run.error = status, stop_reason, error
    return run


@pytest.fixture
def app(env: Env) -> AppTest:
    return AppTest.from_file(APP, default_timeout=30)


def fill_login(at: AppTest, username: str, password: str) -> AppTest:
    """Fill the login form and submit it."""
    if not at.text_input:
        at.run()
    at.text_input[0].input(username)
    at.text_input[1].input(password)
    next(b for b in at.button if b.label == "Login").click().run()
    if at.session_state["authentication_status"] is True:
        # In a browser the "remember me" cookie component reruns the script once the cookie
        # is written, and the page shows then (duet_ui/shell/login.py); AppTest runs no component.
        assert [c.value for c in at.caption] == [SIGNING_IN]
        at.run()
    return at


def open_page(at: AppTest, page: str) -> AppTest:
    return at.switch_page(f"app_pages/{page}.py").run()


@pytest.fixture
def seed(store: Store):
    """``seed(owner, **kw)``: save a run (see ``seed_run``)."""
    return lambda owner, **kw: seed_run(store, owner, **kw)


@pytest.fixture
def logged_in(app: AppTest, accounts: dict[str, str]):
    """``logged_in(user, page=None)``: the app after ``user`` logged in, on ``page``."""

    def go(user: str, page: str | None = None) -> AppTest:
        fill_login(app, user, accounts[user])
        assert app.session_state["authentication_status"] is True, [e.value for e in app.error]
        return open_page(app, page) if page else app

    return go


@pytest.fixture
def login():
    """``login(at, username, password)``: fill the login form and submit it."""
    return fill_login


class _KeptMediaStorage(MemoryMediaFileStorage):
    """AppTest's in-memory media storage, kept reachable so a test can read what a
    download button would send."""

    made: ClassVar[list[_KeptMediaStorage]] = []

    def __init__(self, media_endpoint: str):
        super().__init__(media_endpoint)
        _KeptMediaStorage.made.append(self)


@dataclass
class DeferredFile:
    """What a deferred download button (``data=`` a callable) serves once pressed."""

    filename: str
    content: bytes


@pytest.fixture
def downloaded(monkeypatch: pytest.MonkeyPatch):
    """``downloaded(at, key)``: the file a download button serves; for a deferred one (built
    on click), its callable is called as a click would."""
    _KeptMediaStorage.made.clear()
    monkeypatch.setattr(app_test_module, "MemoryMediaFileStorage", _KeptMediaStorage)
    deferred: dict[str, tuple[object, str | None]] = {}
    add_deferred = MediaFileManager.add_deferred

    def keep(self, data_callable, mimetype, coordinates, file_name=None, **kw):
        file_id = add_deferred(self, data_callable, mimetype, coordinates, file_name, **kw)
        deferred[file_id] = (data_callable, file_name)
        return file_id

    monkeypatch.setattr(MediaFileManager, "add_deferred", keep)

    def read(at: AppTest, key: str) -> MemoryFile | DeferredFile:
        proto = at.download_button(key=key).proto
        if proto.deferred_file_id:
            build, name = deferred[proto.deferred_file_id]
            data = build()
            return DeferredFile(name or "", data.encode() if isinstance(data, str) else data)
        url = proto.url
        assert url, f"{key} has no data"
        filename = url.rsplit("/", 1)[-1]
        for storage in reversed(_KeptMediaStorage.made):
            try:
                return storage.get_file(filename)
            except Exception:
                continue
        raise AssertionError(f"no media file for {key} ({url})")

    return read
