"""``python -m duet_core lab regenerate|continue``: the Prompt Lab without a browser.

    lab regenerate SOURCE --turn INDEX [--set FIELD=VALUE ...] [--variants K] [--json]
                   [--save-branch] [--db URL]
    lab continue SOURCE [--set FIELD=VALUE ...] [--json] [--save-branch] [--db URL]
    lab regenerate SOURCE SOURCE ... [--experiment ID] --turn INDEX [--set ...] [--json]

SOURCE is a run id or a transcript JSON file. ``--json`` prints one JSON object per line as
things happen (``thinking``, ``text``, ``done``, ``error``, and ``branch`` last with
``--save-branch``). Exit 0 when every variant finished, 1 when one failed, 2 for bad input.

Several sources (or ``--experiment ID``: its runs) try the same settings on each, up to 10
(``duet_core.lab.many``): each event's ``variant`` is the source's place and carries its
``source``; a last ``{"type": "summary", "rows": [...]}`` line (without ``--json``: a table)
gives each source's figures and the "All" row. No ``--variants`` or ``--save-branch`` then.
"""

from __future__ import annotations

import argparse
import getpass
import json
from pathlib import Path
from typing import Any, TextIO

from duet_core import catalog
from duet_core.errors import AccessDenied, ConfigError
from duet_core.lab import many
from duet_core.lab import requests as lab
from duet_core.lab import sources as lab_sources
from duet_core.lab.edits import parse_sets
from duet_core.lab.summary import summary_rows
from duet_core.logs import run_logger
from duet_core.models import Turn
from duet_core.providers import Providers
from duet_core.settings import Settings


def add_parser(sub: Any) -> None:
    """Add ``lab`` and its two commands to the top-level subparsers ``sub``."""
    lab_parser = sub.add_parser("lab", help="regenerate or continue a saved turn (Prompt Lab)")
    commands = lab_parser.add_subparsers(dest="lab_command", required=True)
    regen = commands.add_parser("regenerate", help="write turn INDEX again with other settings")
    regen.add_argument(
        "source", nargs="*", help="a run id or a transcript JSON file (several: up to 10)"
    )
    regen.add_argument("--turn", type=int, required=True, help="the turn's index (from 0)")
    regen.add_argument(
        "--variants", type=int, default=1, help=f"how many at once (1-{lab.MAX_VARIANTS})"
    )
    cont = commands.add_parser("continue", help="the next bot writes one more turn")
    cont.add_argument(
        "source", nargs="*", help="a run id or a transcript JSON file (several: up to 10)"
    )
    for p in (regen, cont):
        p.add_argument("--experiment", metavar="ID", help="every run of this experiment too")
        p.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="FIELD=VALUE",
            help="a bot setting: temperature=1.3, model=gpt-4o-mini, prompt=NAME@VERSION, "
            "var.NAME=VALUE ...",
        )
        p.add_argument("--json", action="store_true", help="one JSON event per line")
        p.add_argument(
            "--save-branch", action="store_true", help="save variant 0 as a new run (a branch)"
        )
        p.add_argument("--db", help="database URL (default DUET_DATABASE_URL)")


class _Database:
    """Opened only when needed: a transcript file regenerates without any database."""

    def __init__(self, url: str):
        self.url = url
        self._store: Any = None

    def get(self, must_exist: bool = True) -> Any:
        """The store; reading needs the database to exist already (a mistyped --db is an
        error, not a new empty file); saving a branch may create it."""
        if self._store is None:
            from duet_core.store import Store

            self._store = Store(self.url, must_exist=must_exist)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


class _LazyLibrary:
    """The prompt library, opening the database only when a template is read."""

    def __init__(self, db: _Database):
        self._db = db

    def get(self, name: str, version: int | None = None) -> Any:
        return self._db.get().prompts.get(name, version)


def _source(name: str, db: _Database, user: str, settings: Settings) -> lab_sources.LabSource:
    try:
        looks_like_file = name.lower().endswith(".json") or Path(name).is_file()
        return lab_sources.resolve(
            name,
            None if looks_like_file else db.get(),
            user,
            is_admin=True,  # the command line reads the database directly anyway
            directory=lab_sources.fixtures_dir(settings),
        )
    except AccessDenied as e:
        raise ConfigError(e.message) from None


def cmd_lab(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    if not args.source and not args.experiment:
        raise ConfigError("Give a SOURCE (a run id or a transcript JSON file) or --experiment ID")
    if len(args.source) > 1 or args.experiment:
        return _many(args, settings, out)
    args.source = args.source[0]
    variants = getattr(args, "variants", 1)
    if not 1 <= variants <= lab.MAX_VARIANTS:
        raise ConfigError(f"--variants takes 1 to {lab.MAX_VARIANTS}")
    edits = parse_sets(args.set)
    user = getpass.getuser() or "cli"
    db = _Database(args.db or settings.database_url)
    try:
        source = _source(args.source, db, user, settings)
        if args.lab_command == "regenerate":
            request = lab.regenerate_request(source.run, args.turn, edits, _LazyLibrary(db))
        else:
            request = lab.continue_request(source.run, edits, _LazyLibrary(db))
        printer = _Printer(out, args.json, variants)
        experiment = lab.run_variants(
            [request] * variants,
            Providers(settings).with_keys(None),  # no database opened unless it is needed
            catalog.load_prices(settings.prices_file),
            printer.event,
            run_logger(source.run.id, user),
        )
        failed = any(v.error is not None for v in experiment.variants)
        if args.save_branch:
            first = experiment.variants[0]
            if first.error is not None or first.turn is None:
                printer.note("Variant 0 failed: no branch saved.")
                return 1
            branch = lab.save_branch(db.get(must_exist=False), source, first.turn, owner=user)
            printer.branch(branch.id)
        return 1 if failed else 0
    finally:
        db.close()


def _many(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Several sources (and an experiment's runs), the same edits on each."""
    if getattr(args, "variants", 1) != 1:
        raise ConfigError("--variants takes one SOURCE; with several, each gets one result")
    if args.save_branch:
        raise ConfigError("--save-branch takes one SOURCE; save a result from the page")
    edits = parse_sets(args.set)
    user = getpass.getuser() or "cli"
    db = _Database(args.db or settings.database_url)
    try:
        sources = [_source(name, db, user, settings) for name in args.source]
        if args.experiment:
            sources += many.experiment_sources(db.get(), args.experiment, user, is_admin=True)
        sources = many.unique(sources)
        many.check_count(len(sources))
        index = args.turn if args.lab_command == "regenerate" else None
        cells = many.plan(sources, args.lab_command, index, edits, _LazyLibrary(db))
        for i, cell in enumerate(cells):
            if cell.problem is None:
                continue
            if args.json:
                line = {"type": "error", "variant": i, "message": cell.problem}
                _emit(out, {**line, "source": cell.source.label})
            else:
                out.write(f"--- {cell.source.label} ---\nNot asked: {cell.problem}\n")
        labels = [c.source.label for c in cells]

        def on_event(event: lab.LabEvent) -> None:
            if args.json:
                _emit(out, {**event.as_json(), "source": labels[event.variant]})
            elif event.type in ("done", "error"):
                out.write(f"--- {labels[event.variant]} ---\n")
                if event.turn is not None:
                    out.write(f"{event.turn.content}\n[{describe(event.turn)}]\n")
                if event.type == "error":
                    out.write(f"Error: {event.message}\n")
                out.flush()

        result = many.run_many(
            cells,
            Providers(settings).with_keys(None),
            catalog.load_prices(settings.prices_file),
            on_event,
            run_logger(sources[0].run.id, user),
        )
        rows = summary_rows(result)
        if args.json:
            _emit(out, {"type": "summary", "rows": rows})
        else:
            for row in rows:
                out.write(" · ".join(f"{k} {v}" for k, v in row.items() if v is not None) + "\n")
        return 0 if rows[-1]["status"] == f"{len(cells)} done" else 1
    finally:
        db.close()


def _emit(out: TextIO, obj: dict[str, Any]) -> None:
    out.write(json.dumps(obj, ensure_ascii=False) + "\n")
    out.flush()


class _Printer:
    """``--json`` lines, or readable text: one variant streams live; several print when done."""

    def __init__(self, out: TextIO, as_json: bool, variants: int):
        self.out = out
        self.as_json = as_json
        self.live = variants == 1
        self._thinking_open = False

    def _line(self, obj: dict[str, Any]) -> None:
        self.out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self.out.flush()

    def event(self, event: lab.LabEvent) -> None:
        if self.as_json:
            self._line(event.as_json())
            return
        if self.live and event.type == "thinking":
            if not self._thinking_open:
                self.out.write("[thinking]\n")
                self._thinking_open = True
            self.out.write(event.content)
        elif self.live and event.type == "text":
            if self._thinking_open:
                self.out.write("\n[/thinking]\n")
                self._thinking_open = False
            self.out.write(event.content)
        elif event.type in ("done", "error"):
            if not self.live:
                self.out.write(f"\n--- variant {event.variant} ---\n")
                if event.turn is not None:
                    if event.turn.thinking:
                        self.out.write(f"[thinking]\n{event.turn.thinking}\n[/thinking]\n")
                    self.out.write(event.turn.content)
            if event.turn is not None:
                self.out.write(f"\n[{describe(event.turn)}]\n")
            if event.type == "error":
                self.out.write(f"Error: {event.message}\n")
        self.out.flush()

    def note(self, text: str) -> None:
        if self.as_json:
            self._line({"type": "error", "variant": 0, "message": text})
        else:
            self.out.write(text + "\n")

    def branch(self, run_id: str) -> None:
        if self.as_json:
            self._line({"type": "branch", "run_id": run_id})
        else:
            self.out.write(run_id + "\n")
        self.out.flush()


def describe(turn: Turn) -> str:
    """``gpt-4.1-mini · 48→52 tokens · TTFT 410 ms · 1650 ms · $0.0001 · stop``."""
    parts = [turn.model or "?"]
    if turn.input_tokens is not None or turn.output_tokens is not None:
        parts.append(f"{turn.input_tokens or 0}→{turn.output_tokens or 0} tokens")
    if turn.ttft_ms is not None:
        parts.append(f"TTFT {turn.ttft_ms:.0f} ms")
    if turn.latency_ms is not None:
        parts.append(f"{turn.latency_ms:.0f} ms")
    parts.append(f"${turn.cost_usd:.6f}" if turn.cost_usd is not None else "cost unknown")
    if turn.finish_reason:
        parts.append(turn.finish_reason)
    return " · ".join(parts)
