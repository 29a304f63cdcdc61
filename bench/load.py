"""Load on loopback: concurrent runs, History queries, and a second process coming and going.

    .venv/bin/python bench/load.py [--seconds 60] [--runs 20] [--sessions 5] [--db URL]

For ``--seconds``, this process keeps ``--runs`` runs going at once (each a few turns long,
through the OpenAI SDK against the providers' fake server on 127.0.0.1, a new run started as
soon as one ends), while ``--sessions`` threads query History as viewers do (a page of runs,
a search, one whole run; ``--think`` seconds apart). Every 15 s a second process starts on
the same database (start-up recovery, two runs of its own), then is stopped with SIGTERM or
killed with SIGKILL in turn.

Prints runs completed, turns lost (turns this process finished but the database lacks, or
runs it completed that the database shows otherwise; must be 0), errors, and the History
query latency (median, p95). Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from pydantic import SecretStr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from duet_core.models import BotConfig, RunConfig, RunStatus  # noqa: E402
from duet_core.run.manager import RunManager  # noqa: E402
from duet_core.settings import Settings  # noqa: E402
from duet_core.store import RunQuery, Store  # noqa: E402
from tests.providers.provider_fakes import FakeServer, Recorded, Reply, openai_stream  # noqa: E402

TURNS_PER_RUN = 6
WORDS = [
    "a",
    "steady",
    "reply",
    "of",
    "a",
    "dozen",
    "words",
    "that",
    "streams",
    "one",
    "word",
    "at",
    "a",
    "time",
    "here",
]


class Model(FakeServer):
    """Every request gets a short reply, one word per event, ``delay`` s apart."""

    def __init__(self, delay: float) -> None:
        super().__init__(keep_alive=True)
        self.delay = delay

    def record(self, request: Recorded) -> Reply:
        with self._lock:
            self.requests.append(request)
            if len(self.requests) > 1000:
                del self.requests[:500]
        return openai_stream([w + " " for w in WORDS], usage=(30, 12)).slowly(self.delay)


def settings_for(db: str, base_url: str) -> Settings:
    return Settings(_env_file=None).model_copy(
        update={
            "database_url": db,
            "openai_base_url": base_url,
            "openai_api_key": SecretStr("sk-bench-not-a-key"),
            "max_active_runs": 1000,
            "max_turns": 1000,
            "runs_per_minute": 100_000,
            "log_level": "WARNING",
            "lease_seconds": 5.0,
        }
    )


def config(i: int) -> RunConfig:
    bots = [
        BotConfig(name="Ada", provider="openai", model="gpt-4o-mini", temperature=0.5),
        BotConfig(name="Bob", provider="openai", model="gpt-4o-mini", temperature=0.9),
    ]
    return RunConfig(topic=f"Load run {i}: trams or buses?", max_turns=TURNS_PER_RUN, bots=bots)


# --- the second process -------------------------------------------------------------------


def child(db: str, base_url: str) -> None:
    """Start like a replica would (recovery included), run two runs until stopped."""
    store = Store(db)
    manager = RunManager(store, settings_for(db, base_url))
    recovered = manager.recover_interrupted()
    print(f"recovered {len(recovered)}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    i = 0
    while not stop.is_set():
        runs = [manager.start(config(10_000 + i + k), "replica") for k in range(2)]
        i += 2
        for live in runs:
            while live.alive and not stop.is_set():
                live.join(0.1)
    manager.stop_all(timeout=5)
    manager.close()
    store.close()


# --- the load -------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--delay", type=float, default=0.02, help="seconds between words")
    parser.add_argument("--think", type=float, default=0.25, help="seconds between clicks")
    parser.add_argument("--db", help="database URL (default: a temp SQLite file)")
    parser.add_argument("--child", nargs=2, metavar=("DB", "BASE_URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return

    tmp = tempfile.TemporaryDirectory(prefix="duet-load-")
    db = args.db or f"sqlite:///{Path(tmp.name) / 'load.db'}"
    model = Model(args.delay).start()
    base_url = f"{model.url}/v1"
    store = Store(db)
    manager = RunManager(store, settings_for(db, base_url))
    deadline = time.monotonic() + args.seconds
    lock = threading.Lock()
    finished: list = []  # LiveRun objects of this process that ended
    errors: list[str] = []
    query_ms: list[float] = []

    def keep_one_going(slot: int) -> None:
        i = slot
        while time.monotonic() < deadline:
            try:
                live = manager.start(config(i), f"user{slot % 5}")
            except Exception as e:  # counted; the bench goes on
                with lock:
                    errors.append(f"start: {e}")
                return
            live.join(120)
            with lock:
                finished.append(live)
            i += args.runs

    def history_session(n: int) -> None:
        rng = random.Random(n)
        pause = threading.Event()
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            try:
                page = store.list_runs(RunQuery(limit=50, offset=rng.randrange(0, 50)))
                store.list_runs(RunQuery(search=rng.choice(["trams", "buses", "steady"])))
                if page.items:
                    store.get_run(rng.choice(page.items).id)
            except Exception as e:
                with lock:
                    errors.append(f"history: {type(e).__name__}: {e}")
                continue
            with lock:
                query_ms.append((time.perf_counter() - t0) * 1000)
            pause.wait(args.think)  # a person reads the page before the next click

    def second_process() -> None:
        n = 0
        while time.monotonic() < deadline - 5:
            proc = subprocess.Popen(
                [sys.executable, __file__, "--child", db, base_url],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            proc.stdout.readline()  # started and recovered
            stopped = threading.Event()
            stopped.wait(min(8.0, max(0.0, deadline - time.monotonic() - 2)))
            proc.send_signal(signal.SIGTERM if n % 2 == 0 else signal.SIGKILL)
            code = proc.wait(30)
            if code not in (0, -signal.SIGKILL):
                with lock:
                    errors.append(f"second process exit {code}: {proc.stderr.read()[-300:]}")
            n += 1
            stopped.wait(min(7.0, max(0.0, deadline - time.monotonic())))
        print(f"second process started and stopped {n} times", flush=True)

    threads = [threading.Thread(target=keep_one_going, args=(s,)) for s in range(args.runs)]
    threads += [threading.Thread(target=history_session, args=(n,)) for n in range(args.sessions)]
    threads.append(threading.Thread(target=second_process))
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    manager.stop_all(timeout=10)

    completed = lost = run_errors = 0
    for live in finished:
        memory = live.snapshot().run
        saved = store.get_run(live.id)
        if memory.status is RunStatus.COMPLETED:
            completed += 1
        elif memory.status is RunStatus.ERROR:
            run_errors += 1
            errors.append(f"run {live.id}: {memory.error}")
        saved_turns = len(saved.turns) if saved else 0
        lost += max(0, len(memory.turns) - saved_turns)
        if saved is None or saved.status is not memory.status:
            lost += 1
            errors.append(f"run {live.id}: {memory.status} here, {saved and saved.status} saved")
    turns = sum(len(live.snapshot().run.turns) for live in finished)
    print(
        f"database: {store.dialect}; {elapsed:.0f} s; {args.runs} runs at once; "
        f"{args.sessions} History sessions"
    )
    print(f"runs completed: {completed} ({turns} turns, {turns / elapsed:.0f} turns/s)")
    print(f"turns lost: {lost}")
    print(f"errors: {len(errors)}" + "".join(f"\n  {e}" for e in errors[:10]))
    print(
        f"History queries: {len(query_ms)}; median {statistics.median(query_ms):.1f} ms, "
        f"p95 {percentile(query_ms, 95):.1f} ms"
    )
    manager.close()
    store.close()
    model.stop()
    tmp.cleanup()
    os._exit(0 if lost == 0 else 1)


if __name__ == "__main__":
    main()
