"""Experiments' throughput: Duet's queue and workers against a bare asyncio loop that makes the
same requests with the openai SDK (same concurrency, nothing saved), on SQLite and PostgreSQL,
and one worker against two on PostgreSQL. A second bare loop reads the chunks as Duet does (the
plain JSON the SDK parsed, no pydantic model per token): against it the ratio is what Duet's
queue, engine and saving cost, and nothing else.

    .venv/bin/python bench/batch_throughput.py                        # small: 40 x 6 turns
    .venv/bin/python bench/batch_throughput.py --conversations 1000 --concurrency 100

The fake provider (bench/fake_provider.py, a separate process) answers every chat request
after ``--ttft`` seconds with ``--tokens`` tokens at ``--tps`` tokens a second (sent ``--tick``
seconds apart in small groups, as real providers batch their events). Duet runs as the command
line does (``batch run`` in a child process; for two workers, ``batch submit`` then two ``worker``
processes); its wall time is the experiment's own (first run claimed to last run finished,
from the database), so process start-up and imports are left out, as they are for the bare
loop (first request to last reply). Peak memory is the child's maximum resident set; CPU
seconds are each process's user and system time (the fake provider's too, measured apart).
PostgreSQL: ``--pg URL`` or a throwaway cluster (tests/store/conftest.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fake_provider import start_provider  # noqa: E402  (bench/ is on sys.path when run)

MODEL = "gpt-4.1-mini"
KEY = "sk-bench-0123456789"


# --- the bare loop -----------------------------------------------------------------------


def bare(args: argparse.Namespace, base_url: str, plain: bool = False) -> dict:
    """The same conversations with openai.AsyncOpenAI, ``concurrency`` at a time, each turn
    sent with the whole conversation so far; nothing saved. ``plain``: each chunk as the JSON
    object it arrived as (``client.post(..., cast_to=object)``, as Duet reads them), not as
    the SDK's pydantic model."""
    import openai

    async def request(client, messages: list[dict]):
        body = {
            "model": MODEL,
            "messages": messages,
            "max_tokens": args.tokens * 2,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if not plain:
            return await client.chat.completions.create(**body)
        return await client.post(
            "/chat/completions",
            body=body,
            cast_to=object,
            stream=True,
            stream_cls=openai.AsyncStream[object],
        )

    def parts_of(chunk) -> tuple[str, int]:
        """A chunk's text and completion tokens (0 when it has none)."""
        if plain:
            choices, usage = chunk.get("choices"), chunk.get("usage")
            text = (choices[0].get("delta") or {}).get("content") if choices else None
            return text or "", usage["completion_tokens"] if usage else 0
        text = chunk.choices[0].delta.content if chunk.choices else None
        return text or "", chunk.usage.completion_tokens if chunk.usage else 0

    async def conversation(client, i: int, gate: asyncio.Semaphore) -> int:
        async with gate:
            said: list[str] = []
            tokens = 0
            for turn in range(args.turns):
                me = turn % 2
                messages = [{"role": "user", "content": f"Topic {i}"}]
                for j, text in enumerate(said):
                    messages.append(
                        {"role": "assistant" if j % 2 == me else "user", "content": text}
                    )
                parts = []
                async for chunk in await request(client, messages):
                    text, used = parts_of(chunk)
                    parts.append(text)
                    tokens += used
                said.append("".join(parts))
            return tokens

    async def main() -> tuple[float, int]:
        gate = asyncio.Semaphore(args.concurrency)
        async with openai.AsyncOpenAI(
            api_key=KEY, base_url=base_url, max_retries=0, timeout=120
        ) as client:  # closed on this loop, not by the garbage collector after it
            began = time.monotonic()
            done = await asyncio.gather(
                *(conversation(client, i, gate) for i in range(args.conversations))
            )
            return time.monotonic() - began, sum(done)

    cpu = time.process_time()
    wall, tokens = asyncio.run(main())
    return {"wall_s": wall, "tokens": tokens, "cpu_s": round(time.process_time() - cpu, 1)}


# --- Duet --------------------------------------------------------------------------------


def experiment_file(args: argparse.Namespace, tmp: Path, concurrency: int) -> Path:
    bot = {"provider": "openai", "model": MODEL, "max_tokens": args.tokens * 2}
    spec = {
        "name": "throughput",
        "run": {
            "topic": "t",
            "max_turns": args.turns,
            "bots": [{**bot, "name": "Ada"}, {**bot, "name": "Bo"}],
        },
        "topics": [f"Topic {i}" for i in range(args.conversations)],
        "concurrency": concurrency,
    }
    path = tmp / f"experiment-{concurrency}.json"
    path.write_text(json.dumps(spec))
    return path


def env_for(base_url: str, db: str, turns: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(
        OPENAI_API_KEY=KEY,
        OPENAI_BASE_URL=base_url,
        DUET_DATABASE_URL=db,
        DUET_MAX_RETRIES="0",
        DUET_MAX_TURNS=str(max(50, turns)),
        DUET_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    return env


def wait_rss(proc: subprocess.Popen) -> tuple[int, float, float]:
    """Wait for ``proc``; its exit code, peak resident memory in MB and CPU seconds."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def cpu_seconds(pid: int) -> float:
    """CPU seconds ``pid`` has used so far (user and system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def experiment_times(db: str, exp_id: str | None = None) -> dict:
    from duet_core.store import Store
    from duet_core.store.experiments import ExperimentQueue

    with Store(db) as store:
        queue = ExperimentQueue(store)
        record = queue.get(exp_id) if exp_id else queue.list(limit=1)[0]
        p = queue.progress(record.id)
        wall = (p.finished_at - p.started_at).total_seconds()
        with store._read() as conn:
            from sqlalchemy import func, select

            from duet_core.store.schema import runs

            tokens = conn.execute(
                select(func.sum(runs.c.output_tokens)).where(runs.c.experiment_id == record.id)
            ).scalar_one()
    return {"wall_s": wall, "done": p.done, "failed": p.failed, "tokens": int(tokens or 0)}


def duet_batch_run(args: argparse.Namespace, base_url: str, db: str, tmp: Path) -> dict:
    file = experiment_file(args, tmp, args.concurrency)
    proc = subprocess.Popen(
        [sys.executable, "-m", "duet_core", "batch", "run", str(file)],
        env=env_for(base_url, db, args.turns),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    code, rss, cpu = wait_rss(proc)
    result = experiment_times(db)
    result.update(exit=code, peak_rss_mb=rss, cpu_s=round(cpu, 1))
    return result


def duet_workers(args: argparse.Namespace, base_url: str, db: str, tmp: Path, n: int) -> dict:
    """``n`` workers of ``concurrency / 2`` runs each (one worker is thus half the experiment's
    concurrency: two should double it), started and warmed first; then ``batch submit``; the
    workers are stopped (SIGTERM) once the experiment has completed."""
    from duet_core.store import Store
    from duet_core.store.experiments import ExperimentQueue
    from duet_core.vocabulary import ExperimentStatus

    per_worker = max(1, args.concurrency // 2)
    file = experiment_file(args, tmp, per_worker * 2)
    env = env_for(base_url, db, args.turns)
    with Store(db):  # the schema, before the workers start
        pass
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "duet_core", "worker", "--max-runs", str(per_worker)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]
    for p in procs:
        p.stdout.readline()  # "Worker ...: up to N runs at once": warmed up, claiming
    exp_id = subprocess.run(
        [sys.executable, "-m", "duet_core", "batch", "submit", str(file)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with Store(db) as store:
        queue = ExperimentQueue(store)
        while queue.get(exp_id).status is not ExperimentStatus.COMPLETED:
            time.sleep(0.5)
    for p in procs:
        p.terminate()
    peaks = [wait_rss(p)[1] for p in procs]
    result = experiment_times(db, exp_id)
    result.update(workers=n, runs_per_worker=per_worker, peak_rss_mb=max(peaks))
    return result


def postgres(args: argparse.Namespace):
    """A database URL maker: ``--pg`` (CREATE DATABASE rights) or a throwaway cluster."""
    from tests.store.conftest import PostgresServer, ThrowawayCluster

    cluster = None
    if args.pg:
        server = PostgresServer(args.pg, "given")
    else:
        cluster = ThrowawayCluster()
        server = PostgresServer(cluster.url, "throwaway")
    return server, cluster


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=40)
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--ttft", type=float, default=0.2)
    parser.add_argument("--tps", type=float, default=50.0)
    parser.add_argument("--tokens", type=int, default=100)
    parser.add_argument("--tick", type=float, default=0.1)
    parser.add_argument("--pg", help="a PostgreSQL URL whose user may CREATE DATABASE")
    parser.add_argument("--skip", default="", help="comma list of: bare,sqlite,pg,workers")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up as on Ctrl-C
    tmp = Path(tempfile.mkdtemp(prefix="duet-batch-bench-"))
    provider, base_url = start_provider(args, tmp)
    ideal = (
        -(-args.conversations // args.concurrency)
        * args.turns
        * (args.ttft + args.tokens / args.tps)
    )
    print(
        f"{args.conversations} conversations x {args.turns} turns, concurrency "
        f"{args.concurrency}; replies {args.tokens} tokens at {args.tps:g}/s after "
        f"{args.ttft:g} s (ideal wall time {ideal:.1f} s); {os.cpu_count()} CPUs, load "
        f"{os.getloadavg()[0]:.1f}",
        flush=True,
    )
    rows: list[tuple[str, dict]] = []

    def show(name: str, r: dict) -> None:
        rows.append((name, r))
        tps = r["tokens"] / r["wall_s"] if r["wall_s"] else 0
        extra = "".join(
            f", {k} {v:.0f}" if isinstance(v, float) else f", {k} {v}"
            for k, v in r.items()
            if k not in ("wall_s", "tokens")
        )
        print(f"{name:28} wall {r['wall_s']:7.1f} s, {tps:7.0f} tokens/s{extra}", flush=True)

    def phase(name: str, measure) -> None:
        """Run one measurement; also note the fake provider's CPU seconds during it."""
        before = cpu_seconds(provider.pid)
        r = measure()
        r["provider_cpu_s"] = round(cpu_seconds(provider.pid) - before, 1)
        show(name, r)

    server = cluster = None
    try:
        if "bare" not in skip:
            phase("bare asyncio openai loop", lambda: bare(args, base_url))
            phase("bare loop, plain chunks", lambda: bare(args, base_url, plain=True))
        if "sqlite" not in skip:
            sqlite = f"sqlite:///{tmp / 'bench.db'}"
            phase("duet batch run, SQLite", lambda: duet_batch_run(args, base_url, sqlite, tmp))
        if not {"pg", "workers"} <= skip:
            server, cluster = postgres(args)
        if "pg" not in skip:
            pg = server.url_for(server.create_database())
            phase("duet batch run, PostgreSQL", lambda: duet_batch_run(args, base_url, pg, tmp))
        if "workers" not in skip:
            for n in (1, 2):
                pg = server.url_for(server.create_database())
                phase(
                    f"duet {n} worker{'s' if n > 1 else ''}, PostgreSQL",
                    lambda n=n, pg=pg: duet_workers(args, base_url, pg, tmp, n),
                )
    finally:
        provider.terminate()
        provider.wait(10)
        if server is not None:
            server.close()
        if cluster is not None:
            cluster.stop()
    results = dict(rows)
    for bare_name in ("bare asyncio openai loop", "bare loop, plain chunks"):
        base = results.get(bare_name)
        for name, r in rows if base else []:
            if "batch run" in name:
                ratio = r["wall_s"] / base["wall_s"]
                print(f"{name}: {ratio:.2f}x the wall time of the {bare_name}")
    one, two = results.get("duet 1 worker, PostgreSQL"), results.get("duet 2 workers, PostgreSQL")
    if one and two:
        print(f"two workers: {one['wall_s'] / two['wall_s']:.2f}x the throughput of one")


if __name__ == "__main__":
    main()
