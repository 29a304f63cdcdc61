"""Prompt Lab: K variants at once against K one after another, through the real OpenAI SDK.

    .venv/bin/python bench/lab_variants.py [--variants 4] [--rounds 5] [--delay 0.02]

A local fake server streams each reply as 20 events ``--delay`` seconds apart (a model at
1/delay tokens per second). Prints the median wall time of a round, both ways, their ratio,
and the median time to first token of the variants. Figures, not a pass/fail test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from duet_core.lab.requests import LabRequest, run_variants
from duet_core.models import BotConfig
from duet_core.providers import make_provider
from duet_core.settings import Settings
from tests.providers.provider_fakes import API_KEY, FakeServer, openai_stream

WORDS = [f"w{i} " for i in range(19)]


class SlowModel(FakeServer):
    def __init__(self, delay: float):
        super().__init__()
        self.delay = delay

    def record(self, request):
        with self._lock:
            self.requests.append(request)
        return openai_stream(WORDS, usage=(50, 19)).slowly(self.delay)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--delay", type=float, default=0.02)
    args = parser.parse_args()
    server = SlowModel(args.delay).start()
    settings = Settings(
        OPENAI_API_KEY=API_KEY,
        OPENAI_BASE_URL=f"{server.url}/v1",
        max_retries=0,
        _env_file=None,
    )

    def provider_for(bot):
        return make_provider(bot, settings)

    bot = BotConfig(name="Gpt", provider="openai", model="gpt-4.1-mini", temperature=1.0)
    request = LabRequest(1, 0, bot, "Be brief.", [{"role": "user", "content": "Tea?"}])
    run_variants([request], provider_for)  # warm up: SDK import, client, connection
    together, apart, ttft = [], [], []
    try:
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            lab = run_variants([request] * args.variants, provider_for)
            together.append(time.perf_counter() - t0)
            ttft += [t.ttft_ms for t in lab.results if t is not None and t.ttft_ms is not None]
            t0 = time.perf_counter()
            for _ in range(args.variants):
                run_variants([request], provider_for)
            apart.append(time.perf_counter() - t0)
    finally:
        server.stop()
    at_once, one_by_one = statistics.median(together), statistics.median(apart)
    print(
        f"{args.variants} variants, {args.rounds} rounds, {len(WORDS) + 1} events each,"
        f" {args.delay * 1000:.0f} ms apart"
    )
    print(f"at once (Lab)          : median {at_once * 1000:7.0f} ms per round")
    print(f"one after another      : median {one_by_one * 1000:7.0f} ms per round")
    print(f"ratio                  : {one_by_one / at_once:.2f}x faster at once")
    print(f"time to first token    : median {statistics.median(ttft):.0f} ms (variants at once)")


if __name__ == "__main__":
    main()
