"""``python -m duet_core batch ...`` and ``worker``: experiments from a terminal.

    batch run FILE [--concurrency N] [--budget-usd X] [--db URL]   # submit, then work on it here
    batch submit FILE [--concurrency N] [--budget-usd X] [--db URL] # queue only; prints the id
    batch status ID [--json] [--db URL]
    batch export ID --out FILE.(jsonl|parquet|csv) [--perspective 0|1] [--db URL]
    batch list | pause ID | resume ID [--budget-usd X] | cancel ID   [--db URL]
    worker [--until-idle] [--max-runs N] [--db URL]                 # any experiment's runs

``batch run`` exits 0 when every run completed, 1 when some failed or the experiment stopped
early (its budget, a pause or a cancel), 2 with one line for bad input (before anything is
saved), 130 on Ctrl-C or SIGTERM: this process's runs are then saved ``interrupted`` and a
``worker`` takes them up again from where they stopped.
"""

from __future__ import annotations

import argparse
import getpass
import json
import signal
import sys
import threading
import time
from typing import Any, TextIO

from duet_core.batch import control
from duet_core.batch.estimate import Estimate, estimate
from duet_core.batch.experiment import load_experiment
from duet_core.batch.worker import Worker
from duet_core.errors import ConfigError, NotFound
from duet_core.exports.dataset import check_dataset_path, write_dataset
from duet_core.providers.warm import warm_up
from duet_core.run.engine import LiveRun
from duet_core.services import build_services
from duet_core.settings import Settings
from duet_core.store import Store
from duet_core.store.experiments import ExperimentQueue, Progress


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _budget(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def add_parser(sub: Any) -> None:
    batch = sub.add_parser("batch", help="experiments: grids of runs as a queue")
    commands = batch.add_subparsers(dest="batch_command", required=True)
    run = commands.add_parser("run", help="submit an experiment file, then run it here")
    submit = commands.add_parser("submit", help="queue an experiment file; print its id")
    for p in (run, submit):
        p.add_argument("file", help="the experiment, .yaml or .json")
        p.add_argument("--concurrency", type=_positive_int, help="runs at once (all workers)")
        p.add_argument("--budget-usd", type=_budget, help="stop starting runs once spent")
    status = commands.add_parser("status", help="an experiment's progress")
    status.add_argument("id")
    status.add_argument("--json", action="store_true", help="as one JSON object")
    export = commands.add_parser("export", help="write an experiment's runs as a dataset")
    export.add_argument("id")
    export.add_argument("--out", required=True, help="FILE.jsonl, FILE.parquet or FILE.csv")
    export.add_argument(
        "--perspective",
        type=int,
        choices=(0, 1),
        help="JSONL: each conversation as bot 0 or 1 saw it (fine-tuning)",
    )
    export.add_argument("--spreadsheet-safe", action="store_true", help="CSV: no formulas")
    listing = commands.add_parser("list", help="experiments, newest first")
    pause = commands.add_parser("pause", help="start no new run (running ones finish)")
    resume = commands.add_parser("resume", help="start its queued runs again")
    resume.add_argument("--budget-usd", type=_budget, help="a new budget")
    cancel = commands.add_parser("cancel", help="stop its queued and running runs")
    for p in (pause, resume, cancel):
        p.add_argument("id")
    for p in (run, submit, status, export, listing, pause, resume, cancel):
        p.add_argument("--db", help="database URL (default DUET_DATABASE_URL)")
    worker = sub.add_parser("worker", help="run queued runs of any experiment")
    worker.add_argument(
        "--until-idle", action="store_true", help="exit when no experiment has a run left"
    )
    worker.add_argument(
        "--max-runs", type=_positive_int, help="runs at once here (default DUET_MAX_ACTIVE_RUNS)"
    )
    worker.add_argument("--db", help="database URL (default DUET_DATABASE_URL)")


def _owner() -> str:
    try:
        return getpass.getuser() or "cli"
    except Exception:  # no user name in this environment
        return "cli"


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def describe(p: Progress) -> str:
    cost = f"${p.cost_usd:,.4f}" + (" (some turns unpriced)" if p.unpriced_turns else "")
    budget = f" of ${p.budget_usd:,.2f}" if p.budget_usd else ""
    eta = f"; about {_duration(p.eta_seconds)} left" if p.eta_seconds is not None else ""
    return (
        f"{p.id} {p.name!r}: {p.status.value} ({p.status.text}); {p.runs} runs: "
        f"{p.queued} queued, {p.running} running, {p.done} done, {p.failed} failed, "
        f"{p.stopped} stopped; cost {cost}{budget}{eta}"
    )


def _shown_estimate(est: Estimate) -> str:
    return f"Estimate: {est.describe()}."


def cmd_batch(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    command = args.batch_command
    if command in ("run", "submit"):
        return _submit_or_run(args, settings, out, work=command == "run")
    with Store(args.db or settings.database_url, must_exist=True) as store:
        try:
            return _read_or_control(command, args, store, out)
        except NotFound as e:
            raise ConfigError(e.message) from None


def _read_or_control(command: str, args: argparse.Namespace, store: Store, out: TextIO) -> int:
    if command == "status":
        p = control.progress(store, args.id)
        out.write((json.dumps(p.as_json()) if args.json else describe(p)) + "\n")
        return 0
    if command == "export":
        check_dataset_path(args.out)
        n = write_dataset(
            store,
            args.id,
            args.out,
            perspective=args.perspective,
            spreadsheet_safe=args.spreadsheet_safe,
        )
        what = "turns" if args.out.lower().endswith(".csv") else "conversations"
        out.write(f"Saved {args.out} ({n} {what})\n")
        return 0
    if command == "list":
        items = ExperimentQueue(store).list()
        if not items:
            out.write("No experiments. Start one with: python -m duet_core batch run FILE\n")
            return 0
        out.write(f"{'id':12}  {'created':16}  {'status':9}  {'runs':>6}  name\n")
        for r in items:
            when = r.created_at.strftime("%Y-%m-%d %H:%M")
            out.write(f"{r.id:12}  {when:16}  {r.status.value:9}  {r.run_count:>6}  {r.name}\n")
        return 0
    if command == "pause":
        record = control.pause(store, args.id)
    elif command == "resume":
        record = control.resume(store, args.id, budget_usd=args.budget_usd)
    else:
        record = control.cancel(store, args.id)
    out.write(f"{record.id}: {record.status.value} ({record.status.text})\n")
    return 0


def _submit_or_run(args: argparse.Namespace, settings: Settings, out: TextIO, work: bool) -> int:
    experiment = load_experiment(args.file)  # every check before anything is saved
    if args.concurrency is not None:
        experiment.spec.concurrency = args.concurrency
    if args.budget_usd is not None:
        experiment.spec.budget_usd = args.budget_usd
    # the SDKs this experiment needs are imported now, not by its first runs all at once
    warm = (
        {bot.provider for cell in experiment.cells for bot in cell.config.bots} if work else False
    )
    services = build_services(settings, database_url=args.db, recover=False, warm=warm)
    try:
        est = estimate(experiment, services.prices, settings.max_turns)
        note = sys.stderr if not work else out
        note.write(_shown_estimate(est) + "\n")
        if experiment.spec.budget_usd is not None:
            note.write(f"Budget: ${experiment.spec.budget_usd:,.2f}\n")
        record = control.submit(services.store, experiment, _owner())
        if not work:
            out.write(record.id + "\n")
            return 0
        out.write(f"Experiment {record.id}: {record.run_count} runs queued\n")
        out.flush()
        return _work(services, record.id, record.concurrency, out)
    finally:
        services.close()


def _work(services, experiment_id: str, capacity: int, out: TextIO) -> int:
    queue = ExperimentQueue(services.store)
    total = queue.get(experiment_id).run_count  # type: ignore[union-attr]
    done = [0]
    began = time.monotonic()

    def finished(live: LiveRun) -> None:
        done[0] += 1
        status = live.status.value
        out.write(f"[{done[0]}/{total}] {live.id} {status}\n")
        out.flush()

    worker = Worker.for_services(
        services, capacity=capacity, experiment_id=experiment_id, on_finished=finished
    )
    code = _run_worker(worker, until_idle=True)
    p = queue.progress(experiment_id)
    out.write(describe(p) + f" in {_duration(time.monotonic() - began)}\n")
    if code:
        out.write("Interrupted: its runs are saved; `python -m duet_core worker` carries on.\n")
        return code
    if p.done == p.runs:
        return 0
    if p.status.value == "budget":
        out.write("Stopped starting runs: the budget is spent (batch resume --budget-usd X).\n")
    return 1


def _run_worker(worker: Worker, until_idle: bool) -> int:
    """Run ``worker`` here until it is done; Ctrl-C or SIGTERM end its runs as interrupted
    (another worker takes them up again) and return 130."""
    previous = None
    if threading.current_thread() is threading.main_thread():

        def interrupt(*_: object) -> None:
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        worker.run(until_idle=until_idle)
        return 0
    except KeyboardInterrupt:
        worker.shut_down()
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def cmd_worker(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    # the SDKs are imported before the first claim: a run claimed, then left waiting on an
    # import, is a run another worker could have been running
    services = build_services(settings, database_url=args.db, recover=False)
    warm_up(settings)
    capacity = args.max_runs or settings.max_active_runs

    def finished(live: LiveRun) -> None:
        out.write(f"{live.id} {live.status.value}\n")
        out.flush()

    worker = Worker.for_services(services, capacity=capacity, on_finished=finished)
    out.write(f"Worker {services.manager.lease_owner}: up to {capacity} runs at once\n")
    out.flush()
    try:
        return _run_worker(worker, until_idle=args.until_idle)
    finally:
        services.close()
