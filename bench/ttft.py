"""Time to first token per turn against a local TLS fake server, before and after.

    .venv/bin/python bench/ttft.py [--turns 8] [--repeat 3] [--before /work/before] [--rtt-ms 20]

For each code base (``--before``, a checkout of the code before this change, and this one) and
each wire format, a fresh Python process makes ``--turns`` turns through ``make_provider`` at a
keep-alive HTTPS fake server on 127.0.0.1 (run by this script) and reports, per turn, the time
from asking for the provider to the first text token: what a run's first and later turns wait.
The new code calls ``warm_up()`` at process start (as the app and command line do), outside
the clock. Printed: turn 1, the median of turns 2..N, and the TCP connections the server
accepted, side by side; each figure is the median over ``--repeat`` fresh processes.
``--rtt-ms`` puts a TCP proxy with that round-trip delay in front of the server, as a real
provider is some milliseconds away: there a new TCP+TLS connection per turn costs round trips.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def child(root: str, fmt: str, turns: int, url: str) -> None:
    """One fresh process: ``turns`` turns, printing their TTFTs (ms) as JSON."""
    sys.path.insert(0, root)
    from duet_core.models import BotConfig
    from duet_core.providers import make_provider
    from duet_core.settings import Settings

    settings = Settings(
        openai_api_key="sk-bench",
        anthropic_api_key="sk-bench",
        openai_base_url=url + "/v1",
        anthropic_base_url=url,
        _env_file=None,
    )
    try:
        from duet_core.providers.warm import warm_up
    except ImportError:
        warm_up = None  # the code before this change has none
    if warm_up is not None:
        warm_up(settings, [fmt])
    if fmt == "openai":
        bot = BotConfig(provider="openai", model="gpt-4.1-mini")
    else:
        bot = BotConfig(provider="anthropic", model="claude-sonnet-5-5")
    messages = [{"role": "user", "content": "Talk about tea."}]
    out = []
    for _ in range(turns):
        started = time.perf_counter()
        stream = make_provider(bot, settings).open("Be brief.", messages, bot)
        first = None
        for chunk in stream:
            if first is None and getattr(chunk, "text", None):
                first = (time.perf_counter() - started) * 1000
        out.append(first)
    print(json.dumps(out))


class DelayProxy:
    """A TCP proxy on 127.0.0.1 that delays every byte by ``rtt / 2`` each way: a network
    round trip, so the cost of a new TCP and TLS handshake per turn shows up."""

    def __init__(self, upstream_port: int, rtt_ms: float):
        self.upstream_port = upstream_port
        self.delay = rtt_ms / 2000
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        threading.Thread(target=self._run, args=(started,), daemon=True).start()
        started.wait()

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        started.set()
        self.loop.run_forever()

    async def _client(self, reader, writer) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader, writer) -> None:
        pending: asyncio.Queue = asyncio.Queue()

        async def deliver() -> None:
            while (item := await pending.get()) is not None:
                due, data = item
                await asyncio.sleep(max(0.0, due - self.loop.time()))
                writer.write(data)
                await writer.drain()
            writer.close()

        delivering = asyncio.ensure_future(deliver())
        try:
            while data := await reader.read(65536):
                pending.put_nowait((self.loop.time() + self.delay, data))
        except OSError:
            pass
        pending.put_nowait(None)
        with contextlib.suppress(OSError):
            await delivering


def run_variant(
    root: Path, fmt: str, turns: int, server, url: str, cert: Path
) -> tuple[list[float], int]:
    before = server.connections
    env = {**os.environ, "SSL_CERT_FILE": str(cert), "PYTHONDONTWRITEBYTECODE": "1"}
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(root), fmt, str(turns), url],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1]), server.connections - before


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--before", default="/work/before")
    parser.add_argument("--rtt-ms", type=float, default=0.0, help="simulated network round trip")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        root, fmt, turns, url = args.child
        child(root, fmt, int(turns), url)
        return

    sys.path.insert(0, str(ROOT))
    from tests.providers.provider_fakes import FakeServer, self_signed_tls

    with tempfile.TemporaryDirectory() as tmp:
        tls, cert = self_signed_tls(Path(tmp))
        server = FakeServer(tls, keep_alive=True).start()
        url = server.url
        if args.rtt_ms:
            port = DelayProxy(int(server.url.rsplit(":", 1)[1]), args.rtt_ms).port
            url = f"https://127.0.0.1:{port}"
        variants = [("before", Path(args.before)), ("after", ROOT)]
        where = f"a {args.rtt_ms:g} ms round trip" if args.rtt_ms else "loopback"
        print(f"TTFT in ms over HTTPS, {where}, {args.turns} turns, median of {args.repeat}")
        print(f"{'':22}{'turn 1':>10}{'turns 2..N':>12}{'1 minus 2..N':>14}{'connections':>13}")
        for fmt in ("openai", "anthropic"):
            for label, root in variants:
                firsts, laters, conns = [], [], []
                for _ in range(args.repeat):
                    ttfts, connections = run_variant(root, fmt, args.turns, server, url, cert)
                    firsts.append(ttfts[0])
                    laters.append(statistics.median(ttfts[1:]))
                    conns.append(connections)
                first, later = statistics.median(firsts), statistics.median(laters)
                print(
                    f"{fmt + ' ' + label:22}{first:10.1f}{later:12.2f}{first - later:14.1f}"
                    f"{statistics.median(conns):13.0f}"
                )
        server.stop()


if __name__ == "__main__":
    main()
