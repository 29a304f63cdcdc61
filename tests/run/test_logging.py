"""Structured logs: JSON lines with run id and user; prompts cut; keys never logged."""

from __future__ import annotations

import io
import json
import logging
import socket

import pytest

from duet_core.logs import JsonFormatter, cut_prompt
from duet_core.models import BotConfig, RunConfig, RunStatus
from duet_core.run.manager import RunManager
from tests.run.conftest import wait_status

SECRET = "sk-test-DO-NOT-LOG-0123456789abcdef"


@pytest.fixture
def log_lines():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("duet")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)  # as the entry points set it (services(), the CLI)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)
    logger.setLevel(level)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_provider_calls_are_logged_without_keys_and_with_short_prompts(store, settings, log_lines):
    settings = settings.model_copy(
        update={"openai_base_url": f"http://127.0.0.1:{closed_port()}/v1", "max_retries": 0}
    )
    manager = RunManager(store, settings)
    topic = "A very long topic that goes on and on well past fifty characters, really."
    config = RunConfig(
        topic=topic,
        max_turns=2,
        bots=[BotConfig(name="Ada", provider="openai", model="gpt-4.1-mini"), BotConfig()],
    )
    live = manager.start(config, owner="alice", keys={"openai": SECRET})
    # the first turn imports the SDKs (seconds on a busy machine): a generous bound, not a timing
    wait_status(live, RunStatus.ERROR, timeout=60)
    live.join(10)

    lines = log_lines()
    assert SECRET not in json.dumps(lines)
    assert SECRET not in (store.get_run(live.id).error or "")
    assert "Cannot reach" in store.get_run(live.id).error
    call = next(x for x in lines if x["message"] == "provider call")
    assert call["run_id"] == live.id and call["user"] == "alice"
    assert (call["provider"], call["model"], call["error"]) == (
        "openai",
        "gpt-4.1-mini",
        "ProviderUnavailable",
    )
    assert call["prompt"] == cut_prompt(topic) and len(call["prompt"]) == 51
    assert all(x["run_id"] == live.id for x in lines if x["logger"] == "duet.run")


def test_key_shaped_strings_are_redacted():
    record = logging.LogRecord("duet", logging.INFO, "", 0, f"using {SECRET}", (), None)
    assert SECRET not in JsonFormatter().format(record)
