"""Traces arrive in a real collector: Arize Phoenix (``phoenix serve``, installed by ``make test``
into ``.venv/phoenix``) receives the run's spans over OTLP/HTTP exactly as a deployment would
send them, and the test reads them back through Phoenix's own REST API.

Without Phoenix installed the test is skipped, unless ``DUET_REQUIRE_PHOENIX=1`` (CI): then it
fails, so CI never passes by skipping it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from duet_core import telemetry
from tests.providers.provider_fakes import API_KEY, DEADLINE
from tests.providers.test_telemetry import check_model_call, four_turns
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
PHOENIX = ROOT / ".venv" / "phoenix" / "bin" / "phoenix"
REQUIRE_ENV = "DUET_REQUIRE_PHOENIX"
START_TIMEOUT = 120.0  # a cold Phoenix (its migrations, its imports) on a loaded machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.load(response)
    except (OSError, urllib.error.URLError, ValueError):
        return None


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory):
    if not PHOENIX.exists():
        message = f"Phoenix is not installed at {PHOENIX} (make test installs it)"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(message)
        pytest.skip(message)
    home = tmp_path_factory.mktemp("phoenix")
    port, grpc_port = free_port(), free_port()
    env = {
        **os.environ,
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(grpc_port),
        "PHOENIX_WORKING_DIR": str(home),
        "PHOENIX_TELEMETRY_ENABLED": "false",
    }
    for name in telemetry.ENDPOINT_VARIABLES:  # Phoenix must not trace itself to itself
        env.pop(name, None)
    log = (home / "phoenix.log").open("w")
    server = subprocess.Popen(
        [str(PHOENIX), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=home
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if server.poll() is not None:
            raise AssertionError(f"Phoenix exited: {(home / 'phoenix.log').read_text()[-2000:]}")
        return get_json(f"{url}/v1/projects") is not None

    try:
        wait_for(up, START_TIMEOUT, "Phoenix to answer")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def phoenix_spans(url: str) -> list[dict]:
    answer = get_json(f"{url}/v1/projects/default/spans?limit=100")
    return answer["data"] if answer else []


def test_a_runs_spans_are_read_back_from_phoenix(fake, phoenix, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", phoenix)
    assert telemetry.set_up()
    try:
        run = four_turns(fake)
    finally:
        telemetry.shut_down()  # flushes the batch to Phoenix
    spans = wait_for(
        lambda: (found := phoenix_spans(phoenix)) and len(found) >= 5 and found,
        DEADLINE,
        "Phoenix to hold the run's five spans",
    )
    (root,) = [s for s in spans if s["name"] == "duet.run"]
    calls = sorted(
        (s for s in spans if s["name"].startswith("chat ")), key=lambda s: s["start_time"]
    )
    assert len(calls) == 4
    assert root["attributes"]["duet.run.id"] == run.id
    assert root["attributes"]["enduser.id"] == "alice"
    for span, turn in zip(calls, run.turns, strict=True):
        assert span["context"]["trace_id"] == root["context"]["trace_id"]
        assert span["parent_id"] == root["context"]["span_id"]
        check_model_call(span["name"], span["attributes"], turn)
    everything = json.dumps(spans)
    assert API_KEY not in everything
    assert "tea" not in everything and "reply 0" not in everything  # no content by default
