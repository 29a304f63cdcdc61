"""Tokens per second of the local provider (SmolLM2-135M-Instruct, llama.cpp's server in a
child process), measured through the provider as a turn uses it.

    .venv/bin/python bench/local_model.py [--replies 5] [--max-tokens 120]

Prints how long the server took to start, then for each reply its output tokens, time to first
token and tokens per second after the first token, then the medians; last, two replies asked
at once (they queue on the one server) and the throughput of the pair. Needs `make local`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from duet_core.models import BotConfig  # noqa: E402
from duet_core.providers.base import TextDelta, Usage  # noqa: E402
from duet_core.providers.local import LocalProvider, local_model_status  # noqa: E402

SYSTEM = "You are a careful scientist. Answer in a few sentences."
QUESTIONS = [
    "Is tea better than coffee?",
    "Why is the sky blue?",
    "What makes a good experiment?",
    "How do bees find flowers?",
    "Why do we sleep?",
]


def reply(provider: LocalProvider, bot: BotConfig, question: str) -> dict:
    """One streamed reply: output tokens, time to first token (ms), tokens/s after it."""
    started = time.perf_counter()
    first = None
    tokens = None
    for chunk in provider.open(SYSTEM, [{"role": "user", "content": question}], bot):
        if isinstance(chunk, TextDelta) and first is None:
            first = time.perf_counter()
        elif isinstance(chunk, Usage):
            tokens = chunk.output_tokens
    ended = time.perf_counter()
    after_first = ended - first if first is not None else 0.0
    rate = (tokens - 1) / after_first if tokens and after_first > 0 else float("nan")
    ttft = (first - started) * 1000 if first is not None else float("nan")
    return {"tokens": tokens or 0, "ttft_ms": ttft, "rate": rate, "seconds": ended - started}


def in_process_reply(llama, question: str, max_tokens: int) -> dict:
    """The old way, for comparison: the same model loaded in this process (llama_cpp.Llama)."""
    started = time.perf_counter()
    first, tokens = None, 0
    chat = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}]
    for piece in llama.create_chat_completion(
        messages=chat, max_tokens=max_tokens, temperature=0.8, stream=True
    ):
        if piece["choices"][0].get("delta", {}).get("content"):
            tokens += 1
            first = first or time.perf_counter()
    ended = time.perf_counter()
    after_first = ended - first if first is not None else 0.0
    rate = (tokens - 1) / after_first if tokens and after_first > 0 else float("nan")
    ttft = (first - started) * 1000 if first is not None else float("nan")
    return {"tokens": tokens, "ttft_ms": ttft, "rate": rate, "seconds": ended - started}


def compare_in_process(provider: LocalProvider, bot: BotConfig, replies: int) -> None:
    """Child server and in-process model side by side, alternating, same build and threads."""
    from llama_cpp import Llama

    from duet_core.providers.local import model_path

    llama = Llama(model_path=str(model_path()), n_ctx=2048, n_threads=1, verbose=False)
    server, inside = [], []
    for i in range(replies):
        question = QUESTIONS[i % len(QUESTIONS)]
        server.append(reply(provider, bot, question)["rate"])
        inside.append(in_process_reply(llama, question, bot.max_tokens)["rate"])
    s, p = statistics.median(server), statistics.median(inside)
    print(
        f"side by side, {replies} replies each: child server {s:.1f} tokens/s, "
        f"in process {p:.1f} tokens/s (server / in process = {s / p:.2f})"
    )
    llama.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replies", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=120)
    parser.add_argument(
        "--in-process", action="store_true", help="also the model in this process, side by side"
    )
    args = parser.parse_args()
    ok, why = local_model_status()
    if not ok:
        sys.exit(f"local model not installed: {why}")
    provider = LocalProvider()
    started = time.perf_counter()
    provider.start()
    print(f"server started in {time.perf_counter() - started:.2f} s (pid {provider.server.pid})")
    bot = BotConfig(
        provider="local", model="SmolLM2-135M-Instruct", temperature=0.8, max_tokens=args.max_tokens
    )
    try:
        results = []
        for i in range(args.replies):
            r = reply(provider, bot, QUESTIONS[i % len(QUESTIONS)])
            results.append(r)
            print(
                f"reply {i + 1}: {r['tokens']:4} tokens  ttft {r['ttft_ms']:7.1f} ms  "
                f"{r['rate']:6.1f} tokens/s"
            )
        print(
            f"median: {statistics.median(r['rate'] for r in results):.1f} tokens/s, "
            f"time to first token {statistics.median(r['ttft_ms'] for r in results):.0f} ms"
        )

        pair: list[dict] = [{}, {}]

        def one(i: int) -> None:
            pair[i] = reply(provider, bot, QUESTIONS[i])

        started = time.perf_counter()
        threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
        total = sum(r["tokens"] for r in pair)
        print(
            f"two at once: both finished, {total} tokens in {wall:.1f} s "
            f"({total / wall:.1f} tokens/s for the pair)"
        )
        if args.in_process:
            compare_in_process(provider, bot, args.replies)
    finally:
        provider.stop()


if __name__ == "__main__":
    main()
