"""``python -m duet_core prompts save|list|show|render``: the prompt library from a terminal.

    prompts save NAME FILE.(json|yaml) [--note TEXT] [--db URL]  # "NAME v3 saved" / "v2 unchanged"
    prompts list [--json] [--db URL]
    prompts show NAME [--version N] [--json] [--db URL]
    prompts render NAME [--version N] [--var KEY=VALUE ...] [--vars-file F.json] [--json] [--db URL]

A template file is a JSON or YAML list of messages, or ``{"messages": [...]}``. ``show --json``
prints ``{"name", "version", "messages", "note", "author", "created_at"}``; ``render --json``
prints ``{"messages": [...], "missing": [...]}``. ``--var`` values are strings; a
``--vars-file`` (a JSON object) keeps its JSON types; ``--var`` wins over the file. Bad input
exits 2 with one line (``duet_core.cli.main.main`` is the error boundary).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import Any, TextIO

import yaml

from duet_core.errors import ConfigError
from duet_core.settings import Settings
from duet_core.store import Store
from duet_core.templates import missing_variables, render_messages

TEMPLATE_SUFFIXES = (".json", ".yaml", ".yml")


def _version(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a version number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"versions start at 1, not {value}")
    return value


def add_parser(sub: Any) -> None:
    """Add ``prompts`` and its commands to the top-level subparsers ``sub``."""
    prompts = sub.add_parser("prompts", help="the prompt library: versioned persona templates")
    commands = prompts.add_subparsers(dest="prompts_command", required=True)
    save = commands.add_parser("save", help="save FILE as the next version of template NAME")
    save.add_argument("name")
    save.add_argument("file", help="a JSON or YAML list of messages, or {messages: [...]}")
    save.add_argument("--note", default="", help="what changed in this version")
    listing = commands.add_parser("list", help="every template and its latest version")
    show = commands.add_parser("show", help="a template's messages (the latest version)")
    render = commands.add_parser("render", help="a template with its variables filled in")
    for p in (show, render):
        p.add_argument("name")
        p.add_argument("--version", type=_version, help="a saved version (default: the latest)")
    render.add_argument(
        "--var", action="append", default=[], metavar="KEY=VALUE", help="a variable (a string)"
    )
    render.add_argument("--vars-file", help="a JSON object of variables (types kept)")
    for p in (listing, show, render):
        p.add_argument("--json", action="store_true", help="print JSON")
    for p in (save, listing, show, render):
        p.add_argument("--db", help="database URL (default DUET_DATABASE_URL)")


def read_template_file(path: str) -> Any:
    """The messages in a template file (checked when saved)."""
    target = Path(path)
    if target.suffix.lower() not in TEMPLATE_SUFFIXES:
        raise ConfigError(f"{path}: a template file is .json, .yaml or .yml")
    try:
        text = target.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"Cannot read {path}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"Cannot read {path}: not UTF-8 text") from None
    try:
        if target.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        kind = "JSON" if target.suffix.lower() == ".json" else "YAML"
        raise ConfigError(f"{path}: not valid {kind}: {str(e).splitlines()[0]}") from None


def read_variables(var: list[str], vars_file: str | None) -> dict[str, Any]:
    variables: dict[str, Any] = {}
    if vars_file:
        try:
            data = json.loads(Path(vars_file).read_text(encoding="utf-8"))
        except OSError as e:
            raise ConfigError(f"Cannot read {vars_file}: {e.strerror or e}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"{vars_file}: not valid JSON: {str(e).splitlines()[0]}") from None
        if not isinstance(data, dict):
            raise ConfigError(f'{vars_file}: give a JSON object, like {{"style": "terse"}}')
        variables.update(data)
    for item in var:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--var {item!r}: write KEY=VALUE, e.g. --var style=terse")
        variables[key.strip()] = value
    return variables


def _messages_text(messages: list[dict[str, Any]]) -> str:
    return "".join(f"[{m['role']}]\n{m['content']}\n\n" for m in messages)


def cmd_prompts(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    command = args.prompts_command
    if command == "save":
        messages = read_template_file(args.file)  # before the database: bad input first
        with Store(args.db or settings.database_url) as store:
            version, created = store.prompts.save(
                args.name, messages, author=getpass.getuser() or "cli", note=args.note
            )
        out.write(f"{version.name} v{version.version} {'saved' if created else 'unchanged'}\n")
        return 0
    variables = read_variables(args.var, args.vars_file) if command == "render" else {}
    with Store(args.db or settings.database_url, must_exist=True) as store:
        if command == "list":
            return _list(store, args.json, out)
        found = store.prompts.get(args.name, args.version)
    if command == "show":
        if args.json:
            out.write(json.dumps(found.as_json(), ensure_ascii=False, indent=2) + "\n")
            return 0
        when = found.created_at.strftime("%Y-%m-%d %H:%M UTC")
        note = f" · {found.note}" if found.note else ""
        out.write(f"{found.name} v{found.version} · {found.author} · {when}{note}\n\n")
        out.write(_messages_text(found.message_dicts()))
        return 0
    rendered = render_messages(found.message_dicts(), variables)
    missing = missing_variables(found.messages, variables)
    if args.json:
        doc = {"messages": rendered, "missing": missing}
        out.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        return 0
    out.write(_messages_text(rendered))
    if missing:  # on stderr: the rendered text alone goes to stdout
        print(f"duet: no value for {', '.join(missing)} (rendered as empty)", file=sys.stderr)
    return 0


def _list(store: Store, as_json: bool, out: TextIO) -> int:
    items = store.prompts.list()
    if as_json:
        doc = [
            {
                "name": s.name,
                "version": s.latest_version,
                "author": s.author,
                "note": s.note,
                "created_at": s.updated_at.isoformat(),
            }
            for s in items
        ]
        out.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        return 0
    if not items:
        out.write("No saved templates. Save one with: python -m duet_core prompts save NAME FILE\n")
        return 0
    width = max(12, *(len(s.name) for s in items))
    out.write(f"{'name':{width}}  {'latest':>6}  {'saved':16}  {'author':12}  note\n")
    for s in items:
        when = s.updated_at.strftime("%Y-%m-%d %H:%M")
        note = s.note.replace("\n", " ")[:50]
        out.write(f"{s.name:{width}}  {'v' + str(s.latest_version):>6}  {when:16}  ")
        out.write(f"{s.author[:12]:12}  {note}\n")
    return 0
