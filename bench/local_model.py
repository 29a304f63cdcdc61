"""Tokens per second of the local provider (SmolLM2-135M-Instruct via llama.cpp) in a real run.

    .venv/bin/python bench/local_model.py [--turns 4] [--max-tokens 120]

A run between two local bots through the engine, as the app makes it: prints each turn's
output tokens, time to first token and tokens per second (after the first token), then the
medians. Needs `make local`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from duet_core.models import BotConfig, Run, RunConfig  # noqa: E402
from duet_core.providers.local import local_model_status, local_provider  # noqa: E402
from duet_core.run.engine import LiveRun  # noqa: E402
from duet_core.run.events import TurnFinished  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=120)
    args = parser.parse_args()
    ok, why = local_model_status()
    if not ok:
        sys.exit(f"local model not installed: {why}")
    started = time.perf_counter()
    local_provider().load()
    print(f"model loaded in {time.perf_counter() - started:.2f} s")

    def bot(name: str, persona: str) -> BotConfig:
        return BotConfig(
            name=name,
            provider="local",
            model="SmolLM2-135M-Instruct",
            system_prompt=persona,
            temperature=0.8,
            max_tokens=args.max_tokens,
        )

    bots = [bot("Ada", "You are a careful scientist."), bot("Bob", "You are a playful optimist.")]
    run = Run(config=RunConfig(topic="Is tea better than coffee?", max_turns=args.turns, bots=bots))
    live = LiveRun(run, lambda b: local_provider())
    sub = live.subscribe()
    live.start()
    rates, ttfts = [], []
    events: list = []
    while live.alive:
        events += sub.drain(timeout=0.5)
    events += sub.drain()
    for event in events:
        if isinstance(event, TurnFinished):
            t = event.turn
            generating = (t.latency_ms - t.ttft_ms) / 1000
            rate = (t.output_tokens - 1) / generating if generating > 0 else float("nan")
            rates.append(rate)
            ttfts.append(t.ttft_ms)
            print(
                f"turn {t.index + 1} {t.bot_name:4} {t.output_tokens:4} tokens  "
                f"ttft {t.ttft_ms:7.1f} ms  {rate:6.1f} tokens/s"
            )
    print(
        f"median: {statistics.median(rates):.1f} tokens/s, "
        f"time to first token {statistics.median(ttfts):.0f} ms"
    )


if __name__ == "__main__":
    main()
