"""A run's streaming cost with OpenTelemetry tracing on against off.

    .venv/bin/python bench/tracing_overhead.py [--runs 30] [--turns 6] [--tokens 400]
    .venv/bin/python bench/tracing_overhead.py --provider openai   # through the OpenAI SDK

Each run streams ``turns`` turns of ``tokens`` tokens through the engine: from the scripted
provider (no network, no sleep: the cheapest tokens there are, so tracing's share is at its
largest), or with ``--provider openai`` through the OpenAI SDK from the fake provider of
bench/fake_provider.py in a process of its own (no wait before or between tokens), as a
real run streams. Off and on alternate in blocks of ``--block`` runs in one process; each "on" block
sets tracing up once, as a process does, and exports every span to an in-memory exporter
through the SDK's BatchSpanProcessor, as a real exporter is fed (set-up and the final flush are
not timed; the processor's thread is: process CPU time counts every thread). Prints the median
CPU time per run and per token each way, and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # fake_provider

from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

from duet_core import telemetry
from duet_core.models import BotConfig, Run, RunConfig, Turn
from duet_core.providers import make_provider
from duet_core.providers.scripted import ScriptedProvider
from duet_core.run.engine import LiveRun
from duet_core.settings import Settings

SDK_URL: str | None = None  # the fake provider's URL with --provider openai


def one_run(turns: int, tokens: int) -> float:
    if SDK_URL is None:
        scripted = ScriptedProvider()
        scripted.enqueue(*[["tok "] * tokens for _ in range(turns)])
        bots = [BotConfig(name="Ada"), BotConfig(name="Bo")]
        provider_for = lambda b: scripted  # noqa: E731
    else:
        settings = Settings(OPENAI_API_KEY="sk-bench", OPENAI_BASE_URL=SDK_URL, _env_file=None)
        bot = {"provider": "openai", "model": "gpt-4.1-mini", "max_tokens": tokens * 2}
        bots = [BotConfig(name="Ada", **bot), BotConfig(name="Bo", **bot)]
        provider_for = lambda b: make_provider(b, settings)  # noqa: E731
    live = LiveRun(Run(config=RunConfig(topic="t", max_turns=turns, bots=bots)), provider_for)
    started = time.process_time()
    live.start()
    live.join(60)
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--tokens", type=int, default=400)
    parser.add_argument("--block", type=int, default=5)
    parser.add_argument("--provider", choices=("scripted", "openai"), default="scripted")
    args = parser.parse_args()
    fake = None
    if args.provider == "openai":
        global SDK_URL
        from fake_provider import start_provider

        fake_args = argparse.Namespace(ttft=0.0, tps=1e6, tokens=args.tokens, tick=0.001)
        fake, SDK_URL = start_provider(fake_args, Path(tempfile.mkdtemp(prefix="duet-trace-")))
    try:
        measure(args)
    finally:
        if fake is not None:
            fake.terminate()
            fake.wait(10)


def measure(args: argparse.Namespace) -> None:
    off, on, exported = [], [], 0
    one_run(args.turns, args.tokens)  # warm up imports and the engine
    while len(on) < args.runs:
        off += [one_run(args.turns, args.tokens) for _ in range(args.block)]
        exporter = InMemorySpanExporter()
        telemetry.set_up(BatchSpanProcessor(exporter))
        on += [one_run(args.turns, args.tokens) for _ in range(args.block)]
        telemetry.shut_down()  # flushes
        exported += len(exporter.get_finished_spans())
    per_run = args.turns * args.tokens
    a, b = statistics.median(off), statistics.median(on)
    print(
        f"{len(on)} runs each way, {args.turns} turns x {args.tokens} tokens per run,"
        f" {args.provider} provider"
    )
    print(f"tracing off: {a * 1000:.1f} ms CPU per run, {a / per_run * 1e6:.1f} µs per token")
    print(f"tracing on:  {b * 1000:.1f} ms CPU per run, {b / per_run * 1e6:.1f} µs per token")
    print(f"on / off: {b / a:.3f}  ({exported} spans exported)")
    spans = spans_cost(args.turns)
    print(
        f"the spans alone (a run span and {args.turns} model-call spans, made, exported and"
        f" flushed {SPAN_ROUNDS} times): {spans * 1e6:.0f} µs CPU per run,"
        f" {spans / a * 100:.2f}% of a run's CPU with tracing off"
    )


SPAN_ROUNDS = 2000


def spans_cost(turns: int) -> float:
    """CPU seconds the spans of one run cost (the exact figure the on/off medians blur: a run's
    CPU varies by more than tracing adds): the telemetry calls the engine makes, with every
    attribute, exported through a BatchSpanProcessor, timed over many runs' worth."""
    bot = BotConfig(name="Ada", temperature=0.7)
    turn = Turn(index=0, bot_index=0, bot_name="Ada", input_tokens=50, output_tokens=400)
    turn.finish_reason, turn.ttft_ms = "stop", 12.5
    messages = [{"role": "user", "content": "t"}]
    telemetry.set_up(BatchSpanProcessor(InMemorySpanExporter()))
    started = time.process_time()
    for _ in range(SPAN_ROUNDS):
        with telemetry.run_span("run", "alice", "t"):
            for _ in range(turns):
                with telemetry.model_call(bot, "system", messages, turn) as span:
                    span.finish(turn)
    telemetry.shut_down()  # the export's flush is counted too
    return (time.process_time() - started) / SPAN_ROUNDS


if __name__ == "__main__":
    main()
