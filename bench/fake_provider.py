"""A fake OpenAI chat-completions provider in a process of its own (asyncio), for the benches
that must not count its CPU as theirs (bench/batch_throughput.py, bench/tracing_overhead.py).

It answers every chat request after ``ttft`` seconds with ``tokens`` tokens at ``tps`` tokens a
second, sent ``tick`` seconds apart in small groups, as real providers batch their events, then
the usage and ``[DONE]``. ``start_provider`` starts it and returns the process and its URL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path


def serve(port_file: Path, ttft: float, tps: float, tokens: int, tick: float) -> None:
    per_tick = max(1, round(tps * tick))

    def event(data: dict | str) -> bytes:
        text = data if isinstance(data, str) else json.dumps(data)
        frame = f"data: {text}\n\n".encode()
        return b"%x\r\n%s\r\n" % (len(frame), frame)

    async def reply(writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        start = time.monotonic() + ttft
        sent = 0
        while sent < tokens:
            due = start + (sent / tps) - time.monotonic()
            if due > 0:
                await asyncio.sleep(due)
            group = b""
            for _ in range(min(per_tick, tokens - sent)):
                last = sent == tokens - 1
                choice = {"index": 0, "delta": {"content": f"tok{sent} "}}
                choice["finish_reason"] = "stop" if last else None
                group += event({"id": "c", "object": "chat.completion.chunk", "choices": [choice]})
                sent += 1
            writer.write(group)
            await writer.drain()
        usage = {"prompt_tokens": 50, "completion_tokens": tokens, "total_tokens": 50 + tokens}
        writer.write(
            event({"id": "c", "object": "chat.completion.chunk", "choices": [], "usage": usage})
        )
        writer.write(event("[DONE]") + b"0\r\n\r\n")
        await writer.drain()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.readline():  # the request line; then headers
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.decode().partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                await reply(writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        port_file.write_text(str(server.sockets[0].getsockname()[1]))
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def start_provider(args: argparse.Namespace, tmp: Path) -> tuple[subprocess.Popen, str]:
    port_file = tmp / "port"
    proc = subprocess.Popen(
        [
            sys.executable,
            __file__,
            str(port_file),
            "--ttft",
            str(args.ttft),
            "--tps",
            str(args.tps),
            "--tokens",
            str(args.tokens),
            "--tick",
            str(args.tick),
        ]
    )
    deadline = time.monotonic() + 30
    while not port_file.exists() or not port_file.read_text():
        if time.monotonic() > deadline:
            raise SystemExit("the fake provider did not start")
        time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port_file.read_text()}/v1"


if __name__ == "__main__":
    cli = argparse.ArgumentParser()
    cli.add_argument("port_file", type=Path)
    for name in ("--ttft", "--tps", "--tick"):
        cli.add_argument(name, type=float, required=True)
    cli.add_argument("--tokens", type=int, required=True)
    a = cli.parse_args()
    serve(a.port_file, a.ttft, a.tps, a.tokens, a.tick)
