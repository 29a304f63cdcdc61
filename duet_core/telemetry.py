"""OpenTelemetry traces: a span per run and per model call, with the GenAI conventions.

Off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, the
standard variables) is set, and then exported over OTLP/HTTP to Langfuse, Phoenix, Jaeger or a
collector. When off nothing is imported and every span is one shared object that does nothing,
so a turn costs what it did before.

A model call's span (``chat {model}``) carries ``gen_ai.operation.name``,
``gen_ai.provider.name``, ``gen_ai.request.model``, ``gen_ai.request.temperature`` /
``top_p`` / ``max_tokens``, ``gen_ai.usage.input_tokens`` / ``output_tokens``,
``gen_ai.response.finish_reasons``, the time to first token, the run id and the user. It never
holds a key; the messages and the reply only with ``DUET_OTEL_CAPTURE_CONTENT=1`` (redacted).
A run's span (``duet.run``) is the parent of its turns' calls; a Lab variant's or a judge's call
is a span of its own (or under whatever span is current in its thread).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from duet_core.models import BotConfig, Turn
from duet_core.redact import redact

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
# gen_ai.provider.name: the convention's names where it has one, else Duet's own
PROVIDER_NAMES = {"openai": "openai", "anthropic": "anthropic"}

_lock = threading.Lock()
_tracer: Any = None  # an opentelemetry Tracer once set up; None: tracing is off
_provider: Any = None  # its TracerProvider


def enabled(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return any(env.get(name) for name in ENDPOINT_VARIABLES)


def capture_content(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get("DUET_OTEL_CAPTURE_CONTENT") == "1"


def set_up(processor: Any = None, environ: Mapping[str, str] | None = None) -> bool:
    """Start tracing for this process when the environment asks for it (or ``processor``, a
    span processor, is given: tests pass one with an in-memory exporter). Once per process;
    returns whether tracing is on."""
    global _tracer, _provider
    with _lock:
        if _tracer is not None:
            return True
        if processor is None and not enabled(environ):
            return False
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider

        provider = TracerProvider(resource=Resource.create({"service.name": "duet"}))
        if processor is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.trace.export import BatchSpanProcessor

            processor = BatchSpanProcessor(OTLPSpanExporter())
        provider.add_span_processor(processor)
        _tracer, _provider = provider.get_tracer("duet"), provider
        return True


def shut_down() -> None:
    """Flush and stop (tests; the app's exit flushes through the SDK's own atexit)."""
    global _tracer, _provider
    with _lock:
        if _provider is not None:
            _provider.shutdown()
        _tracer, _provider = None, None


class _Off:
    """The span when tracing is off: does nothing, costs one attribute lookup."""

    def finish(self, turn: Turn, failure: Exception | None = None) -> None:
        return None


_OFF = _Off()


class _ModelCall:
    def __init__(self, span: Any):
        self.span = span

    def finish(self, turn: Turn, failure: Exception | None = None) -> None:
        attributes: dict[str, Any] = {}
        if turn.input_tokens is not None:
            attributes["gen_ai.usage.input_tokens"] = turn.input_tokens
        if turn.output_tokens is not None:
            attributes["gen_ai.usage.output_tokens"] = turn.output_tokens
        if turn.finish_reason:
            attributes["gen_ai.response.finish_reasons"] = [str(turn.finish_reason)]
        if turn.ttft_ms is not None:
            attributes["duet.time_to_first_token_ms"] = turn.ttft_ms
        if turn.cost_usd is not None:
            attributes["duet.cost_usd"] = turn.cost_usd
        if capture_content():
            reply = [{"role": "assistant", "content": redact(turn.content)}]
            attributes["gen_ai.output.messages"] = json.dumps(reply)
        self.span.set_attributes(attributes)
        if failure is not None:
            from opentelemetry.trace import Status, StatusCode

            attributes = {"error.type": type(failure).__name__}
            self.span.set_attributes(attributes)
            self.span.set_status(Status(StatusCode.ERROR, redact(str(failure))[:200]))


@contextmanager
def model_call(
    bot: BotConfig, system: str, messages: list[dict[str, str]], turn: Turn
) -> Iterator[_ModelCall | _Off]:
    """The span of one model call (``finish(turn)`` it with what came back)."""
    tracer = _tracer
    if tracer is None:
        yield _OFF
        return
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": PROVIDER_NAMES.get(bot.provider, f"duet.{bot.provider}"),
        "gen_ai.request.model": bot.model,
        "gen_ai.request.max_tokens": bot.max_tokens,
        "duet.bot.name": bot.name,
        "duet.turn.index": turn.index,
    }
    if bot.temperature is not None:
        attributes["gen_ai.request.temperature"] = bot.temperature
    if bot.top_p is not None:
        attributes["gen_ai.request.top_p"] = bot.top_p
    if capture_content():
        sent = ([{"role": "system", "content": system}] if system else []) + list(messages)
        attributes["gen_ai.input.messages"] = json.dumps(
            [{"role": m["role"], "content": redact(m["content"])} for m in sent]
        )
    with tracer.start_as_current_span(f"chat {bot.model}", attributes=attributes) as span:
        yield _ModelCall(span)


@contextmanager
def run_span(run_id: str, user: str, topic: str, name: str = "duet.run") -> Iterator[Any]:
    """The span of a whole run (its model calls are its children), or of a Lab request."""
    tracer = _tracer
    if tracer is None:
        yield None
        return
    attributes = {"duet.run.id": run_id, "enduser.id": user}
    if capture_content():
        attributes["duet.run.topic"] = redact(topic)
    with tracer.start_as_current_span(name, attributes=attributes) as span:
        yield span
