"""Tokens per second through the engine against a bare loop over the same provider.

    .venv/bin/python bench/engine_throughput.py [--turns 300]

The demo provider runs at full speed (no pacing). "bare" iterates the provider's streams
directly; "engine" runs the same turns through a LiveRun (views, events, one viewer draining
its queue in another thread), once without a store and once saving every turn to SQLite.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from duet_core.models import BotConfig, Run, RunConfig, Turn
from duet_core.providers.base import TextDelta
from duet_core.providers.demo import DemoProvider
from duet_core.run.bot_view import bot_view
from duet_core.run.engine import LiveRun
from duet_core.run.events import StatusChanged
from duet_core.store import Store


def config(turns: int) -> RunConfig:
    return RunConfig(
        topic="Should cities ban cars from their centres?",
        max_turns=turns,
        bots=[
            BotConfig(name="Ada", system_prompt="You are an urban planner.", max_tokens=4096),
            BotConfig(name="Bob", system_prompt="You are a shop owner.", max_tokens=4096),
        ],
    )


def bare(turns: int) -> tuple[int, float]:
    """The provider alone, with the same message lists the engine would build."""
    cfg, provider = config(turns), DemoProvider(tokens_per_second=0, seed=1)
    history: list[Turn] = []
    tokens, started = 0, time.perf_counter()
    for i in range(turns):
        bot = cfg.bots[i % 2]
        system, messages = bot_view(cfg.topic, history, i % 2, bot)
        text = []
        for chunk in provider.open(system, messages, bot):
            if isinstance(chunk, TextDelta):
                text.append(chunk.text)
                tokens += 1
        history.append(Turn(index=i, bot_index=i % 2, bot_name=bot.name, content="".join(text)))
    return tokens, time.perf_counter() - started


def through_engine(turns: int, store: Store | None) -> tuple[int, float]:
    provider = DemoProvider(tokens_per_second=0, seed=1)
    run = Run(config=config(turns))
    if store is not None:
        store.create_run(run)
    live = LiveRun(run, lambda bot: provider, store)
    viewer = live.subscribe(maxsize=10_000_000)
    counted = [0]

    def view():
        while True:
            for event in viewer.drain(timeout=1.0):
                if isinstance(event, StatusChanged) and not event.status.live:
                    return
                counted[0] += 1

    t = threading.Thread(target=view)
    t.start()
    started = time.perf_counter()
    live.start()
    live.join()
    elapsed = time.perf_counter() - started
    t.join()
    snap = live.snapshot().run
    return sum(turn.output_tokens or 0 for turn in snap.turns), elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=300)
    args = parser.parse_args()
    bare(20), through_engine(20, None)  # warm up imports and caches

    tok_b, sec_b = bare(args.turns)
    tok_e, sec_e = through_engine(args.turns, None)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/bench.db")
        tok_s, sec_s = through_engine(args.turns, store)
        store.close()
    rate_b, rate_e, rate_s = tok_b / sec_b, tok_e / sec_e, tok_s / sec_s
    print(f"turns: {args.turns}, tokens: {tok_b}")
    print(f"bare provider loop     : {rate_b:12,.0f} tokens/s")
    print(f"engine, no store       : {rate_e:12,.0f} tokens/s  ({rate_e / rate_b:.2f} of bare)")
    print(f"engine, SQLite store   : {rate_s:12,.0f} tokens/s  ({rate_s / rate_b:.2f} of bare)")


if __name__ == "__main__":
    main()
