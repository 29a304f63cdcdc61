"""Command line: the same engine without a browser.

    python -m duet_core run CONFIG.(json|yaml) [--topic TEXT] [--turns N] [--db URL] [--export FILE]
    python -m duet_core runs [--db URL]
    python -m duet_core export RUN_ID --out FILE [--db URL]

Exit 0 when the run completes, 1 when it ended in an error, 2 for invalid input, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import TextIO

from duet_core import cli_lab, cli_prompts, events
from duet_core.errors import ConfigError, DuetError
from duet_core.exports import EXPORT_FORMATS, export_run
from duet_core.manager import RunManager
from duet_core.models import RunConfig, RunStatus, validated
from duet_core.settings import Settings, load_settings
from duet_core.store import RunQuery, Store


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        raise UsageError(message)


def build_parser() -> Parser:
    parser = Parser(prog="python -m duet_core", description="Two AI bots in conversation.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    run = sub.add_parser("run", help="run a conversation from a config file")
    run.add_argument("config", help="RunConfig as .json or .yaml")
    run.add_argument("--topic", help="override the topic")
    run.add_argument("--turns", type=int, help="override max_turns")
    run.add_argument("--db", help="database URL (default DUET_DATABASE_URL)")
    run.add_argument("--export", help=f"write the transcript ({', '.join(EXPORT_FORMATS)})")
    runs = sub.add_parser("runs", help="list saved runs")
    runs.add_argument("--db")
    runs.add_argument("--limit", type=int, default=50)
    export = sub.add_parser("export", help="export a saved run")
    export.add_argument("run_id")
    export.add_argument("--out", required=True)
    export.add_argument("--db")
    cli_lab.add_parser(sub)
    cli_prompts.add_parser(sub)
    return parser


def check_export_path(path: str | None) -> None:
    if path and Path(path).suffix.lower() not in EXPORT_FORMATS:
        raise ConfigError(
            f"Unknown export format '{Path(path).suffix}': use {', '.join(EXPORT_FORMATS)}"
        )


def load_config(args: argparse.Namespace) -> RunConfig:
    config = RunConfig.from_file(args.config)
    changes = {}
    if args.topic is not None:
        changes["topic"] = args.topic
    if args.turns is not None:
        changes["max_turns"] = args.turns
    if changes:
        config = validated(RunConfig, {**config.model_dump(), **changes})
    return config


def print_events(sub: events.Subscription, out: TextIO) -> RunStatus:
    """Print the conversation as it streams, until the run ends; return its final status."""
    while True:
        event = sub.get(timeout=1.0)
        if isinstance(event, events.Snapshot):  # the run so far; it may already have ended
            for turn in event.run.turns:
                out.write(f"\n{turn.bot_name}:\n{turn.content}\n")
            if event.partial is not None:
                out.write(f"\n{event.partial.bot_name}:\n{event.partial.content}")
            if not event.run.status.live:
                event = events.StatusChanged(
                    event.run.status, event.run.stop_reason, event.run.error
                )
        if isinstance(event, events.TurnStarted):
            out.write(f"\n{event.bot_name} ({event.config.model}):\n")
        elif isinstance(event, events.TextDelta):
            out.write(event.text)
        elif isinstance(event, events.TurnFinished) and event.turn.by_person:
            out.write(f"\n{event.turn.bot_name}: {event.turn.content}\n")
        elif isinstance(event, events.TurnFinished):
            out.write("\n")
        elif isinstance(event, events.StatusChanged) and not event.status.live:
            out.write(f"\n[{event.status.value}: {event.stop_reason or ''}]\n")
            if event.error:
                out.write(f"Error: {event.error}\n")
            out.flush()
            return event.status
        out.flush()


def cmd_run(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    config = load_config(args)
    check_export_path(args.export)
    store = Store(args.db or settings.database_url)
    manager = RunManager(store, settings)
    manager.recover_interrupted()
    if config.max_turns > settings.max_turns:
        out.write(f"max_turns {config.max_turns} capped at DUET_MAX_TURNS={settings.max_turns}\n")
    live = manager.start(config, owner=getpass.getuser() or "cli", rate_limited=False)
    sub = live.subscribe(abandon_after=float("inf"))
    out.write(f"Run {live.id}: {config.topic}\n")
    try:
        status = print_events(sub, out)
    except KeyboardInterrupt:
        live.stop()
        live.join(5)
        status = RunStatus.STOPPED
    live.join(5)
    if args.export:
        export_run(store.get_run(live.id), args.export)
        out.write(f"Saved {args.export}\n")
    store.close()
    return {RunStatus.COMPLETED: 0, RunStatus.ERROR: 1}.get(status, 130)


def cmd_runs(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    store = Store(args.db or settings.database_url)
    page = store.list_runs(RunQuery(limit=args.limit))
    out.write(f"{'id':12}  {'created':16}  {'status':11}  {'turns':>5}  topic\n")
    for r in page.items:
        when = r.created_at.strftime("%Y-%m-%d %H:%M")
        topic = r.topic.replace("\n", " ")[:60]
        out.write(f"{r.id:12}  {when:16}  {r.status.value:11}  {r.turn_count:>5}  {topic}\n")
    if page.total > len(page.items):
        out.write(f"({page.total - len(page.items)} more)\n")
    store.close()
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    check_export_path(args.out)
    store = Store(args.db or settings.database_url)
    run = store.get_run(args.run_id)
    store.close()
    if run is None:
        raise ConfigError(f"No run with id {args.run_id}")
    export_run(run, args.out)
    out.write(f"Saved {args.out}\n")
    return 0


COMMANDS = {
    "run": cmd_run,
    "runs": cmd_runs,
    "export": cmd_export,
    "lab": cli_lab.cmd_lab,
    "prompts": cli_prompts.cmd_prompts,
}


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        args = build_parser().parse_args(argv)
        settings = load_settings()
        return COMMANDS[args.command](args, settings, out)
    except (UsageError, ConfigError) as e:
        print(f"duet: {e}", file=sys.stderr)
        return 2
    except DuetError as e:
        print(f"duet: {e}", file=sys.stderr)
        return 1
