"""``python -m duet_core accounts add|list|role|remove``: the accounts file from a terminal.

    accounts add USER --role user|facilitator|admin [--name NAME] [--password-stdin]
    accounts list
    accounts role USER ROLE
    accounts remove USER

The file is ``DUET_AUTH_FILE`` (default ``.streamlit/auth.yaml``), the one the login page and
the HTTP API read; passwords are stored as bcrypt hashes. ``add`` reads the password from
standard input with ``--password-stdin`` (one line), else asks for it twice on the terminal.
The last administrator cannot lose the role or be removed. Bad input exits 2 with one line.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any, TextIO

from duet_core.accounts import ROLES, AccountsFile
from duet_core.errors import ConfigError
from duet_core.settings import Settings


def add_parser(sub: Any) -> None:
    accounts = sub.add_parser("accounts", help="accounts that may log in and call the API")
    commands = accounts.add_subparsers(dest="accounts_command", required=True)
    add = commands.add_parser("add", help="add an account")
    add.add_argument("user")
    add.add_argument("--role", choices=ROLES, default="user")
    add.add_argument("--name", default="", help="the person's name")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    commands.add_parser("list", help="every account and its role")
    role = commands.add_parser("role", help="give an account another role")
    role.add_argument("user")
    role.add_argument("role", choices=ROLES)
    remove = commands.add_parser("remove", help="remove an account")
    remove.add_argument("user")


def _password(from_stdin: bool) -> tuple[str, str | None]:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n"), None
    if not sys.stdin.isatty():
        raise ConfigError("Give the password with --password-stdin, or run this in a terminal.")
    return getpass.getpass("Password: "), getpass.getpass("Again: ")


def cmd_accounts(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    accounts = AccountsFile(settings.auth_file)
    command = args.accounts_command
    if command == "add":
        password, repeat = _password(args.password_stdin)
        account = accounts.add_user(
            args.user, password, name=args.name, roles=[args.role], repeat=repeat
        )
        out.write(f"{account.username} added ({args.role})\n")
    elif command == "role":
        account = accounts.set_roles(args.user, [args.role])
        out.write(f"{account.username} is now {args.role}\n")
    elif command == "remove":
        accounts.remove_user(args.user)
        out.write(f"{args.user.strip().lower()} removed\n")
    else:
        for a in accounts.accounts():
            out.write(f"{a.username:24}  {', '.join(a.roles):14}  {a.name}\n")
    return 0
