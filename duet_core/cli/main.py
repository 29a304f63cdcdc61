"""Command line: the same engine without a browser.

    python -m duet_core run CONFIG.(json|yaml) [--topic TEXT] [--turns N] [--db URL]
                            [--export FILE] [--spreadsheet-safe] [--json]
    python -m duet_core runs [--db URL] [--limit N]
    python -m duet_core export RUN_ID --out FILE [--db URL] [--spreadsheet-safe]
    python -m duet_core tokens create USER [--name LABEL] | list [USER] | revoke TOKEN_ID
    python -m duet_core accounts add USER --role ROLE [--password-stdin] | list | role USER ROLE
                                | remove USER
    python -m duet_core eval run (RUN_ID | --batch ID) --judge FILE | vote | rate | leaderboard
    python -m duet_core batch run|submit|status|export|list|pause|resume|cancel ...
    python -m duet_core worker [--until-idle] [--max-runs N] [--db URL]
    (every command also takes --verbose and --log-file FILE)

Exit 0 when the run completes, 1 when it ended in an error, 2 for invalid input, 130 on Ctrl-C.
The terminal belongs to the conversation: logs go there only as warnings (one line each)
unless ``--verbose``. Every failure is one line on stderr (``main`` is the one error
boundary): invalid input exits 2; an unexpected error says what to report, without a traceback.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from duet_core.cli import accounts as cli_accounts
from duet_core.cli import batch as cli_batch
from duet_core.cli import evals as cli_evals
from duet_core.cli import lab as cli_lab
from duet_core.cli import prompts as cli_prompts
from duet_core.cli import tokens as cli_tokens
from duet_core.cli.terminal import RedactingOut, print_events, print_json_events
from duet_core.errors import ConfigError, DuetError
from duet_core.exports.pdf import transcript_pdf
from duet_core.exports.transcript import EXPORT_FORMATS, export_text, turns_csv
from duet_core.logs import setup_cli_logging
from duet_core.models import Run, RunConfig, RunStatus, describe_validation_error, validated
from duet_core.redact import redact
from duet_core.services import build_services
from duet_core.settings import Settings, load_settings
from duet_core.store import RunQuery, Store

REPORT = "This is a bug in Duet: please report it with the command you ran"
log = logging.getLogger("duet.cli")


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        raise UsageError(message)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _logging_options(parser: argparse.ArgumentParser, default=None) -> None:
    parser.add_argument(
        "--verbose", "-v", action="store_true", default=default, help="log to stderr as JSON"
    )
    parser.add_argument("--log-file", default=default, help="also keep every log line in FILE")


def build_parser() -> Parser:
    parser = Parser(prog="python -m duet_core", description="Two AI bots in conversation.")
    _logging_options(parser)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    run = sub.add_parser("run", help="run a conversation from a config file")
    run.add_argument("config", help="RunConfig as .json or .yaml")
    run.add_argument("--topic", help="override the topic")
    run.add_argument("--turns", type=positive_int, help="override max_turns")
    run.add_argument(
        "--max-seconds", type=float, help="end the run after this many seconds of running"
    )
    run.add_argument(
        "--loop-window",
        type=int,
        help="end the run (reason loop) when a reply repeats one of the last N; 0: off",
    )
    run.add_argument("--db", help="database URL (default DUET_DATABASE_URL)")
    run.add_argument("--export", help=f"write the transcript ({', '.join(EXPORT_FORMATS)})")
    run.add_argument(
        "--json",
        action="store_true",
        help="print the run's events as JSON lines (the HTTP API's stream objects)",
    )
    runs = sub.add_parser("runs", help="list saved runs")
    runs.add_argument("--db")
    runs.add_argument("--limit", type=positive_int, default=50)
    export = sub.add_parser("export", help="export a saved run")
    export.add_argument("run_id")
    export.add_argument("--out", required=True)
    export.add_argument("--db")
    for p in (run, export):
        p.add_argument(
            "--spreadsheet-safe",
            action="store_true",
            help="CSV: a cell a spreadsheet would run as a formula starts with an apostrophe",
        )
    for p in (run, runs, export):
        _logging_options(p, default=argparse.SUPPRESS)  # after the command too
    cli_lab.add_parser(sub)
    cli_prompts.add_parser(sub)
    cli_evals.add_parser(sub)
    cli_tokens.add_parser(sub)
    cli_accounts.add_parser(sub)
    cli_batch.add_parser(sub)
    return parser


def check_export_path(path: str | None, spreadsheet_safe: bool = False) -> None:
    """Refuse an export destination before any work: unknown format, a folder, a folder that
    does not exist or is a file, or a place that cannot be written."""
    if not path:
        return
    target = Path(path)
    if target.suffix.lower() not in EXPORT_FORMATS:
        raise ConfigError(
            f"Unknown export format '{target.suffix}': use {', '.join(EXPORT_FORMATS)}"
        )
    if spreadsheet_safe and target.suffix.lower() != ".csv":
        raise ConfigError("--spreadsheet-safe applies to .csv exports only.")
    if target.is_dir():
        raise ConfigError(f"Cannot write {path}: it is a folder; give a file name.")
    parent = target.parent
    if not parent.exists():
        raise ConfigError(f"Cannot write {path}: the folder {parent} does not exist.")
    if not parent.is_dir():
        raise ConfigError(f"Cannot write {path}: {parent} is a file, not a folder.")
    existed = target.exists()
    try:
        with open(target, "a", encoding="utf-8"):
            pass
    except OSError as e:
        raise ConfigError(f"Cannot write {path}: {e.strerror or e}.") from None
    if not existed:
        target.unlink(missing_ok=True)


def write_export(run: Run, path: str, spreadsheet_safe: bool = False) -> None:
    suffix = Path(path).suffix.lower()
    if suffix == ".csv" and spreadsheet_safe:
        data = turns_csv([run], spreadsheet_safe=True).encode()
    elif suffix == ".pdf":
        data = transcript_pdf(run)
    else:
        data = export_text(run, suffix).encode()
    try:
        Path(path).write_bytes(data)
    except OSError as e:
        raise ConfigError(f"Cannot write {path}: {e.strerror or e}.") from None


def load_config(args: argparse.Namespace) -> RunConfig:
    config = RunConfig.from_file(args.config)
    changes = {}
    if args.topic is not None:
        changes["topic"] = args.topic
    if args.turns is not None:
        changes["max_turns"] = args.turns
    if getattr(args, "max_seconds", None) is not None:
        changes["max_seconds"] = args.max_seconds
    if getattr(args, "loop_window", None) is not None:
        changes["loop_window"] = args.loop_window
    if changes:
        config = validated(RunConfig, {**config.model_dump(), **changes})
    return config


def cmd_run(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    # every check before the first provider call: config, export destination, database
    config = load_config(args)
    check_export_path(args.export, args.spreadsheet_safe)
    warm = {bot.provider for bot in config.bots}  # the first turn starts warm
    svc = build_services(settings, database_url=args.db, warm=warm)
    store, manager = svc.store, svc.manager
    as_json = bool(getattr(args, "json", False))
    if config.max_turns > settings.max_turns:
        note = f"max_turns {config.max_turns} capped at DUET_MAX_TURNS={settings.max_turns}\n"
        (sys.stderr if as_json else out).write(note)
    terminal = RedactingOut(out)
    previous = _stop_on_sigterm()
    live = None
    try:
        live = manager.start(config, owner=getpass.getuser() or "cli", rate_limited=False)
        sub = live.subscribe(abandon_after=float("inf"))
        if as_json:  # every line a JSON object: the stream's events, as the HTTP API sends
            status = print_json_events(sub, out)
        else:
            out.write(f"Run {live.id}: {redact(config.topic)}\n")
            out.flush()
            status = print_events(sub, terminal)  # type: ignore[arg-type]
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM: the run is saved as stopped
        if live is not None:
            live.stop()
            live.join(5)
        status = RunStatus.STOPPED
    finally:
        terminal.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if live is None:
        store.close()
        return 130
    live.join(5)
    manager.close()
    if args.export:
        write_export(store.get_run(live.id), args.export, args.spreadsheet_safe)
        (sys.stderr if as_json else out).write(f"Saved {args.export}\n")
    store.close()
    return {RunStatus.COMPLETED: 0, RunStatus.ERROR: 1}.get(status, 130)


def _stop_on_sigterm():
    """SIGTERM stops the run as Ctrl-C does (saved as ``stopped``, not left ``running``).
    Returns the previous handler (None off the main thread, where signals cannot be set)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, interrupt)


def cmd_runs(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    store = Store(args.db or settings.database_url, must_exist=True)
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
    check_export_path(args.out, args.spreadsheet_safe)
    store = Store(args.db or settings.database_url, must_exist=True)
    run = store.get_run(args.run_id)
    store.close()
    if run is None:
        raise ConfigError(f"No run with id {args.run_id}")
    write_export(run, args.out, args.spreadsheet_safe)
    out.write(f"Saved {args.out}\n")
    return 0


COMMANDS = {
    "run": cmd_run,
    "runs": cmd_runs,
    "export": cmd_export,
    "lab": cli_lab.cmd_lab,
    "prompts": cli_prompts.cmd_prompts,
    "tokens": cli_tokens.cmd_tokens,
    "accounts": cli_accounts.cmd_accounts,
    "eval": cli_evals.cmd_eval,
    "batch": cli_batch.cmd_batch,
    "worker": cli_batch.cmd_worker,
}


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    """The command line's one error boundary: every failure is one line on stderr."""
    out = out or sys.stdout
    verbose = False
    try:
        args = build_parser().parse_args(argv)
        verbose = bool(getattr(args, "verbose", False))
        settings = load_settings()
        setup_cli_logging(verbose, settings.log_level, getattr(args, "log_file", None))
        return COMMANDS[args.command](args, settings, out)
    except KeyboardInterrupt:
        return 130
    except BaseException as e:  # this is the boundary
        code, message = describe_failure(e)
        if code == 3 and verbose:  # the traceback only when asked for, in the JSON log
            log.error("unexpected error", exc_info=e)
        if message:
            print(f"duet: {message}", file=sys.stderr, flush=True)
        return 1 if code == 3 else code


def describe_failure(e: BaseException) -> tuple[int, str]:
    """(exit code, one line) for any exception; 3 marks an unexpected one (exit 1)."""
    if isinstance(e, SystemExit):  # argparse's --help
        return (e.code if isinstance(e.code, int) else 0), ""
    if isinstance(e, UsageError | ConfigError):
        return 2, _one_line(str(e))
    if isinstance(e, ValidationError):  # settings from the environment
        return 2, _one_line(f"invalid setting: {describe_validation_error(e)}")
    if isinstance(e, DuetError):
        return 1, _one_line(str(e))
    if isinstance(e, BrokenPipeError):  # the output was closed (| head)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1, ""
    if isinstance(e, OSError):
        where = f"{e.filename}: " if e.filename else ""
        return 2, _one_line(f"{where}{e.strerror or e}")
    if isinstance(e, RecursionError | MemoryError):
        return 2, "the input is too large or too deeply nested."
    detail = _one_line(f"{type(e).__name__}: {e}")[:300]
    return 3, f"unexpected error ({detail}). {REPORT} (run with --verbose for the details)."


def _one_line(text: str) -> str:
    return redact(" ".join(str(text).split()))
