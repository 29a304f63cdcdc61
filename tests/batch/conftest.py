"""Experiments on SQLite and PostgreSQL (``db_url`` from tests/store/conftest.py), with a fake
OpenAI server that answers slowly enough to be caught mid-run, records every request, and can
answer 429 for a while."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.providers.provider_fakes import (
    API_KEY,
    FakeServer,
    Recorded,
    Reply,
    openai_error,
    openai_stream,
)
from tests.store.conftest import db_url, make_run, make_turn, pg_server  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]


class LLMServer(FakeServer):
    """Every chat request gets a reply of ``words`` words, ``delay`` seconds apart, with usage
    (prompt 10, completion ``words``); the first ``rate_limited`` requests get a 429 instead."""

    def __init__(self, words: int = 5, delay: float = 0.0) -> None:
        super().__init__(keep_alive=True)
        self.words = words
        self.delay = delay
        self.rate_limited = 0
        self.limited_answers = 0

    def record(self, request: Recorded) -> Reply:
        with self._lock:
            self.requests.append(request)
            if self.rate_limited > 0:
                self.rate_limited -= 1
                self.limited_answers += 1
                return openai_error(429, "Rate limit reached", "requests", "rate_limit_exceeded")
        text = [f"w{i} " for i in range(self.words)]
        return openai_stream(text=text, usage=(10, self.words)).slowly(self.delay)

    def chat_requests(self) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]


@pytest.fixture
def llm() -> Iterator[LLMServer]:
    server = LLMServer().start()
    yield server
    server.stop()


def openai_bots(model0: str = "gpt-4.1-mini", model1: str = "gpt-4.1-mini") -> list[dict]:
    return [
        {"name": "Ada", "provider": "openai", "model": model0, "max_tokens": 50},
        {"name": "Bo", "provider": "openai", "model": model1, "max_tokens": 50},
    ]


def cli_env(db: str, llm: LLMServer | None = None, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(
        DUET_DATABASE_URL=db,
        DUET_DEMO_TOKENS_PER_SECOND="0",
        DUET_MAX_RETRIES="0",
        PYTHONPATH=str(ROOT),
        **more,
    )
    if llm is not None:
        env.update(OPENAI_API_KEY=API_KEY, OPENAI_BASE_URL=f"{llm.url}/v1")
    return env


def duet(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "duet_core", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_duet(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "duet_core", *args],
        env=env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def first_line(proc: subprocess.Popen[str], timeout: float = 60) -> str:
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not got or not got[0]:
        proc.kill()
        raise AssertionError(f"the process said nothing: {proc.stderr.read()[-2000:]}")
    return got[0]


def write_experiment(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path
