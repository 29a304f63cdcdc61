"""Traces leave the process over OTLP/HTTP, as Langfuse, Phoenix, Jaeger or a collector
receive them: a receiver on 127.0.0.1 decodes each export request with OpenTelemetry's own
protobuf definitions (opentelemetry-proto) and the run's spans are read back from it."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from duet_core import telemetry
from duet_core.models import BotConfig, Run, RunConfig, RunStatus
from duet_core.providers.scripted import ScriptedProvider
from duet_core.run.engine import LiveRun
from tests.providers.provider_fakes import DEADLINE


class Receiver(ThreadingHTTPServer):
    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.spans: list = []
        self.arrived = threading.Condition()
        threading.Thread(target=self.serve_forever, daemon=True).start()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest.FromString(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()
        server: Receiver = self.server  # type: ignore[assignment]
        with server.arrived:
            server.path = self.path
            for resource in request.resource_spans:
                for scope in resource.scope_spans:
                    server.spans.extend(scope.spans)
            server.arrived.notify_all()

    def log_message(self, *args):
        pass


def test_a_runs_spans_arrive_at_an_otlp_receiver(monkeypatch):
    receiver = Receiver()
    endpoint = f"http://127.0.0.1:{receiver.server_address[1]}"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    assert telemetry.set_up()
    try:
        provider = ScriptedProvider()
        provider.enqueue("one", "two")
        bots = [BotConfig(name="Ada"), BotConfig(name="Bo")]
        live = LiveRun(Run(config=RunConfig(topic="t", max_turns=2, bots=bots)), lambda b: provider)
        live.start()
        assert live.join(DEADLINE) and live.status is RunStatus.COMPLETED
    finally:
        telemetry.shut_down()  # flushes the batch to the receiver
    with receiver.arrived:
        assert receiver.arrived.wait_for(lambda: len(receiver.spans) >= 3, timeout=DEADLINE)
    receiver.shutdown()
    assert receiver.path == "/v1/traces"
    names = sorted(s.name for s in receiver.spans)
    assert names == ["chat duet-demo", "chat duet-demo", "duet.run"]
    run_span = next(s for s in receiver.spans if s.name == "duet.run")
    assert all(s.trace_id == run_span.trace_id for s in receiver.spans)
