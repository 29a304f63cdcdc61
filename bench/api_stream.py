"""The HTTP API's event streams under load: many clients watching runs at once.

    .venv/bin/python bench/api_stream.py [--runs 10] [--clients 50] [--rate 50] [--tokens 100]

A server process (this file with ``--serve``: the API as ``serve.py`` mounts it, on uvicorn,
development mode, a temp SQLite file) runs ``--runs`` runs at once, two turns each, both bots
on OpenAI's SDK against a local fake server that streams ``--tokens`` unique tokens per turn at
``--rate`` tokens/s (``bench/token_server.py``, which notes when it sent each token). Clients in
this process read ``GET /api/stream/{id}`` (httpx, one thread each): first one client per run,
then ``--clients`` clients spread over the runs.

Prints, for each: tokens delivered to clients, the server's CPU time per delivered token
(from /proc), and the delay from the fake provider's send to a client's receive (p50, p95,
max). Goal: p95 under 50 ms with 50 clients, and CPU per token within 1.5x of one client per
run. Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx2 as httpx  # noqa: E402
from token_server import TokenServer  # noqa: E402  (bench/ is on sys.path when run)

TOKEN = re.compile(r"zq\d{3}t\d{4}z")  # a token as token_server.py writes it

TICKS = os.sysconf("SC_CLK_TCK")


def serve(port: int, db: str, provider_url: str) -> None:
    """The server process: the API mounted under /api, as serve.py does, without the pages."""
    import uvicorn
    from starlette.applications import Starlette

    from duet_api.app import api_mount
    from duet_api.routes.health import health_route
    from duet_core.services import build_services
    from duet_core.settings import Settings

    settings = Settings(
        database_url=db,
        dev_mode=True,
        max_active_runs=1000,
        runs_per_minute=100000,
        OPENAI_API_KEY="sk-bench-0123456789",
        OPENAI_BASE_URL=provider_url,
        max_retries=0,
        log_level="WARNING",
        _env_file=None,
    )
    svc = build_services(settings, recover=False)
    app = Starlette(routes=[api_mount(lambda: svc), health_route(lambda: svc)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(turns: int = 2) -> dict:
    bot = {"provider": "openai", "model": "gpt-4.1-mini", "temperature": 0.7, "max_tokens": 4000}
    return {
        "topic": "Count with me.",
        "max_turns": turns,
        "bots": [{"name": "Ada", **bot}, {"name": "Bob", **bot}],
    }


def watch(
    client: httpx.Client,
    url: str,
    run_id: str,
    received: list[tuple[str, float]],
    errors: list[str],
) -> None:
    """Read one run's stream to its end, noting each token's arrival (wall-clock ms)."""
    try:
        with client.stream("GET", f"{url}/api/stream/{run_id}") as r:
            for line in r.iter_lines():
                if not line.startswith("data:"):
                    continue
                now = time.time() * 1000
                event = json.loads(line[5:])
                if event["type"] == "token":  # one delta may hold several tokens
                    received.extend((tok, now) for tok in TOKEN.findall(event["delta"]))
                elif event["type"] == "end":
                    return
    except Exception as e:  # a benchmark reports and carries on
        errors.append(f"{type(e).__name__}: {e}")


def scenario(url: str, pid: int, tokens: TokenServer, runs: int, clients: int) -> dict:
    # made first: making a client costs milliseconds of CPU (its TLS context), which would
    # delay the readers already reading
    readers = [httpx.Client(timeout=60) for _ in range(clients)]
    with httpx.Client(timeout=30) as c:
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        ids = [c.post(f"{url}/api/run", json=config()).json()["id"] for _ in range(runs)]
    received: list[list[tuple[str, float]]] = [[] for _ in range(clients)]
    errors: list[str] = []
    threads = [
        threading.Thread(target=watch, args=(readers[i], url, ids[i % runs], received[i], errors))
        for i in range(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    for reader in readers:
        reader.close()
    cpu, wall = cpu_seconds(pid) - cpu0, time.monotonic() - t0
    delays = sorted(
        at - tokens.sent[tok] for got in received for tok, at in got if tok in tokens.sent
    )
    late = sorted(
        at - tokens.sent[tok]
        for got in received
        for tok, at in got
        if tok in tokens.sent and int(tok[6:10]) >= 20
    )
    delivered = sum(len(got) for got in received)
    return {
        "clients": clients,
        "delivered": delivered,
        "cpu_s": cpu,
        "wall_s": wall,
        "cpu_per_token_us": cpu / max(delivered, 1) * 1e6,
        "p50": statistics.median(delays) if delays else float("nan"),
        "p95": delays[int(len(delays) * 0.95)] if delays else float("nan"),
        "max": delays[-1] if delays else float("nan"),
        "p95_after_20": late[int(len(late) * 0.95)] if late else float("nan"),
        "errors": errors,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rate", type=float, default=50.0, help="tokens/s per reply")
    parser.add_argument("--tokens", type=int, default=100, help="tokens per reply")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--provider-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.port, args.db, args.provider_url)
        return 0

    tokens = TokenServer(args.rate, args.tokens, ttft=0.3)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable,
            __file__,
            "--serve",
            f"--port={port}",
            f"--db=sqlite:///{tmp}/bench.db",
            f"--provider-url={tokens.url}",
        ]
        server = subprocess.Popen(command, cwd=ROOT)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    if server.poll() is not None:
                        raise SystemExit("the server did not start") from None
                    time.sleep(0.1)
            scenario(url, server.pid, tokens, 2, 2)  # warm up: imports, SDK clients, pools
            one = scenario(url, server.pid, tokens, args.runs, args.runs)
            many = scenario(url, server.pid, tokens, args.runs, args.clients)
        finally:
            server.terminate()
            server.wait(10)
            tokens.stop()
    print(f"{args.runs} runs at once, 2 turns of {args.tokens} tokens at {args.rate:g} tokens/s")
    for name, r in (("one client per run", one), (f"{args.clients} clients", many)):
        print(
            f"{name:>20}: {r['delivered']:6d} tokens delivered, server CPU {r['cpu_s']:.2f} s "
            f"({r['cpu_per_token_us']:.0f} us/token), send->receive p50 {r['p50']:.1f} ms, "
            f"p95 {r['p95']:.1f} ms, max {r['max']:.1f} ms "
            f"(p95 from each reply's 20th token on: {r['p95_after_20']:.1f} ms)"
            + (f", {len(r['errors'])} errors: {r['errors'][:2]}" if r["errors"] else "")
        )
    ratio = many["cpu_per_token_us"] / one["cpu_per_token_us"]
    print(f"CPU per token, {args.clients} clients vs one per run: {ratio:.2f}x (goal <= 1.5x)")
    print(f"p95 with {args.clients} clients: {many['p95']:.1f} ms (goal < 50 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
