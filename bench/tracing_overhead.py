"""A run's streaming cost with OpenTelemetry tracing on against off.

    .venv/bin/python bench/tracing_overhead.py [--runs 30] [--turns 6] [--tokens 400]

Each run streams ``turns`` turns of ``tokens`` tokens from the scripted provider (no network,
no sleep) through the engine, off and on alternately in one process; on exports every span to
an in-memory exporter through the SDK's BatchSpanProcessor, as a real exporter is fed. Prints
the median CPU time per run and per token each way, and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

from duet_core import telemetry
from duet_core.models import BotConfig, Run, RunConfig
from duet_core.providers.scripted import ScriptedProvider
from duet_core.run.engine import LiveRun


def one_run(turns: int, tokens: int) -> float:
    provider = ScriptedProvider()
    provider.enqueue(*[["tok "] * tokens for _ in range(turns)])
    bots = [BotConfig(name="Ada"), BotConfig(name="Bo")]
    live = LiveRun(Run(config=RunConfig(topic="t", max_turns=turns, bots=bots)), lambda b: provider)
    started = time.process_time()
    live.start()
    live.join(60)
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--tokens", type=int, default=400)
    args = parser.parse_args()
    off, on, exported = [], [], 0
    one_run(args.turns, args.tokens)  # warm up imports and the engine
    for _ in range(args.runs):
        off.append(one_run(args.turns, args.tokens))
        exporter = InMemorySpanExporter()
        telemetry.set_up(BatchSpanProcessor(exporter))
        on.append(one_run(args.turns, args.tokens))
        telemetry.shut_down()  # flushes
        exported += len(exporter.get_finished_spans())
    per_run = args.turns * args.tokens
    a, b = statistics.median(off), statistics.median(on)
    print(f"{args.runs} runs each way, {args.turns} turns x {args.tokens} tokens per run")
    print(f"tracing off: {a * 1000:.1f} ms CPU per run, {a / per_run * 1e6:.1f} µs per token")
    print(f"tracing on:  {b * 1000:.1f} ms CPU per run, {b / per_run * 1e6:.1f} µs per token")
    print(f"on / off: {b / a:.3f}  ({exported} spans exported)")


if __name__ == "__main__":
    main()
