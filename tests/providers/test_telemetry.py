"""OpenTelemetry traces of a run through the real OpenAI SDK at the local fake server, read
back with the SDK's in-memory exporter: one run span, a model-call span per turn with the
GenAI attributes, no key and (by default) no content."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from duet_core import telemetry
from duet_core.models import BotConfig, Run, RunConfig, RunStatus, Turn
from duet_core.providers import make_provider
from duet_core.run.engine import LiveRun
from duet_core.settings import Settings
from tests.providers.provider_fakes import API_KEY, DEADLINE, openai_stream

TOPIC = "Is tea better than coffee? (a private topic)"


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    assert telemetry.set_up(SimpleSpanProcessor(exporter))
    yield exporter
    telemetry.shut_down()


def four_turns(fake) -> Run:
    settings = Settings(
        OPENAI_API_KEY=API_KEY,
        OPENAI_BASE_URL=f"{fake.url}/v1",
        max_retries=0,
        request_timeout=DEADLINE,
        _env_file=None,
    )
    for n in range(4):
        fake.push(openai_stream(text=(f"reply {n} ", "words"), usage=(10 + n, 3 + n)))
    bots = [
        BotConfig(name="Ada", provider="openai", model="gpt-4.1-mini", temperature=0.7),
        BotConfig(name="Bo", provider="openai", model="gpt-4o-mini", temperature=1.1),
    ]
    run = Run(owner="alice", config=RunConfig(topic=TOPIC, max_turns=4, bots=bots))
    live = LiveRun(run, lambda bot: make_provider(bot, settings))
    live.start()
    assert live.join(DEADLINE) and live.status is RunStatus.COMPLETED
    return live.snapshot().run


def check_model_call(name: str, a: Mapping[str, Any], turn: Turn) -> None:
    """A model call's span (its name, its attributes) says what ``turn`` was."""
    assert name == f"chat {turn.model}"
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.provider.name"] == "openai"
    assert a["gen_ai.request.model"] == turn.model
    assert a["gen_ai.request.temperature"] == turn.temperature
    assert a["gen_ai.usage.input_tokens"] == turn.input_tokens
    assert a["gen_ai.usage.output_tokens"] == turn.output_tokens
    assert list(a["gen_ai.response.finish_reasons"]) == ["stop"]


def test_a_run_of_four_turns_is_one_run_span_over_four_model_calls(fake, spans):
    run = four_turns(fake)
    finished = spans.get_finished_spans()
    (root,) = [s for s in finished if s.name == "duet.run"]
    calls = sorted((s for s in finished if s.name.startswith("chat ")), key=lambda s: s.start_time)
    assert len(calls) == 4
    assert root.attributes["duet.run.id"] == run.id and root.attributes["enduser.id"] == "alice"
    for span, turn in zip(calls, run.turns, strict=True):
        assert span.parent is not None and span.parent.span_id == root.context.span_id
        check_model_call(span.name, span.attributes, turn)
        assert span.attributes["duet.time_to_first_token_ms"] == turn.ttft_ms
    everything = json.dumps([dict(s.attributes) for s in finished], default=str)
    assert API_KEY not in everything
    assert "tea" not in everything and "reply 0" not in everything  # no content by default


def test_content_only_when_asked_and_redacted(fake, spans, monkeypatch):
    monkeypatch.setenv("DUET_OTEL_CAPTURE_CONTENT", "1")
    run = four_turns(fake)
    calls = [s for s in spans.get_finished_spans() if s.name.startswith("chat ")]
    sent = json.loads(calls[0].attributes["gen_ai.input.messages"])
    assert sent[-1] == {"role": "user", "content": TOPIC}
    replies = sorted(
        json.loads(c.attributes["gen_ai.output.messages"])[0]["content"] for c in calls
    )
    assert replies == sorted(t.content for t in run.turns)


def test_off_unless_an_endpoint_is_set():
    assert not telemetry.enabled({})
    assert telemetry.enabled({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert not telemetry.set_up(environ={})  # nothing configured: nothing set up
    with telemetry.model_call(BotConfig(name="A"), "", [], run_turn()) as span:
        assert span is telemetry._OFF


def run_turn():
    return Turn(index=0, bot_index=0, bot_name="A")
