"""Time from Stop to the end of the run's thread.

    .venv/bin/python bench/stop_latency.py [--repeat 20]

Each case repeated: the demo provider mid-stream (40 tokens/s), and the real OpenAI and
Anthropic SDKs reading a stream from a local fake server that has stalled after a few events
(the hardest case: the thread is blocked in a socket read when Stop comes), and the local
model (llama.cpp) mid-reply when it is installed.
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
from duet_core.providers import make_provider  # noqa: E402
from duet_core.providers.demo import DemoProvider  # noqa: E402
from duet_core.run.engine import LiveRun  # noqa: E402
from duet_core.run.events import TextDelta  # noqa: E402
from duet_core.settings import Settings  # noqa: E402
from tests.providers.provider_fakes import (  # noqa: E402
    FakeServer,
    anthropic_stream,
    openai_stream,
)


def stop_after_first_token(bot: BotConfig, provider_for) -> float:
    run = Run(config=RunConfig(topic="Stop me", max_turns=2, bots=[bot, bot]))
    live = LiveRun(run, provider_for)
    sub = live.subscribe()
    live.start()
    while not isinstance(sub.get(timeout=10), TextDelta):
        pass
    started = time.perf_counter()
    live.stop()
    live.join(10)
    assert not live.alive
    return (time.perf_counter() - started) * 1000


def report(name: str, samples: list[float]) -> None:
    print(
        f"{name:34} median {statistics.median(samples):7.2f} ms   "
        f"max {max(samples):7.2f} ms   (n={len(samples)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    n = parser.parse_args().repeat
    try:  # as the app and command line do at start-up (absent from the code before it)
        from duet_core.providers.warm import warm_up
    except ImportError:
        pass
    else:
        warm_up()

    demo = DemoProvider(tokens_per_second=40, seed=1)
    report(
        "demo provider, mid-stream",
        [stop_after_first_token(BotConfig(), lambda b: demo) for _ in range(n)],
    )

    server = FakeServer().start()
    settings = Settings(
        openai_api_key="sk-bench",
        anthropic_api_key="sk-bench",
        openai_base_url=server.url + "/v1",
        anthropic_base_url=server.url,
        request_timeout=30,
        _env_file=None,
    )
    openai_bot = BotConfig(provider="openai", model="gpt-4.1-mini")
    claude_bot = BotConfig(provider="anthropic", model="claude-sonnet-5-5")
    for name, bot, reply in (
        ("openai SDK, stalled stream", openai_bot, openai_stream(["a", "b", "c"])),
        ("anthropic SDK, stalled stream", claude_bot, anthropic_stream(["a", "b", "c"])),
    ):
        samples = []
        for _ in range(n):
            stalled = reply.stall_after(4)
            server.push(stalled)
            samples.append(stop_after_first_token(bot, lambda b: make_provider(b, settings)))
            assert stalled.disconnected.wait(5), "the server must see the disconnect"
        report(name, samples)
    server.stop()

    try:
        from duet_core.providers.local import local_model_status, local_provider
    except ImportError:  # code from before the local provider
        return
    if not local_model_status()[0]:
        print("local model: not installed (make local)")
        return
    local = local_provider()
    local.start()  # the server starts before the clock does
    local_bot = BotConfig(provider="local", model="SmolLM2-135M-Instruct", max_tokens=400)
    report(
        "local model, mid-stream",
        [stop_after_first_token(local_bot, lambda b: local) for _ in range(n)],
    )


if __name__ == "__main__":
    main()
