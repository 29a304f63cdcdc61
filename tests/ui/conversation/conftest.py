"""The conversation page's AppTest fixtures: this test's environment (``env``, in place of
``tests/ui/conftest.py``'s login environment) and services."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from duet_core.services import forget_services
from duet_ui.shell.services import Services, services


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> pytest.MonkeyPatch:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DUET_DEV_MODE", "1")
    monkeypatch.setenv("DUET_DATABASE_URL", f"sqlite:///{tmp_path / 'duet.db'}")
    monkeypatch.setenv("DUET_DEMO_TOKENS_PER_SECOND", "0")
    monkeypatch.setenv("DUET_LOG_LEVEL", "WARNING")
    return monkeypatch


@pytest.fixture
def svc(env: pytest.MonkeyPatch) -> Iterator[Services]:
    """This test's services (settings from ``env``); every run stopped afterwards."""
    forget_services()
    s = services()
    yield s
    s.manager.stop_all()
    s.store.close()
    forget_services()
