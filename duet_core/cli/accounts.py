"""``python -m duet_core accounts add|list|role|disable|enable|remove``: the accounts file
from a terminal.

    accounts add USER --role user|facilitator|admin [--name NAME] [--password-stdin]
    accounts list
    accounts role USER ROLE
    accounts disable USER      (cannot sign in nor use its API tokens until enabled)
    accounts enable USER
    accounts remove USER       (its API tokens are revoked)

The file is ``DUET_AUTH_FILE`` (default ``.streamlit/auth.yaml``), the one the login page and
the HTTP API read; passwords are stored as bcrypt hashes. ``add`` reads the password from
standard input with ``--password-stdin`` (one line), else asks for it twice on the terminal.
The last administrator cannot lose the role, be disabled or be removed. Bad input exits 2
with one line.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any, TextIO

from duet_core.accounts import AccountsFile
from duet_core.errors import ConfigError
from duet_core.settings import Settings
from duet_core.store import Store
from duet_core.store.tokens import ApiTokens
from duet_core.vocabulary import ROLES


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
    disable = commands.add_parser("disable", help="stop an account signing in (reversible)")
    disable.add_argument("user")
    enable = commands.add_parser("enable", help="let a disabled account sign in again")
    enable.add_argument("user")
    remove = commands.add_parser("remove", help="remove an account and revoke its API tokens")
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
    elif command == "disable":
        out.write(f"{accounts.disable_user(args.user).username} disabled\n")
    elif command == "enable":
        out.write(f"{accounts.enable_user(args.user).username} enabled\n")
    elif command == "remove":
        user = args.user.strip().lower()
        accounts.remove_user(user)
        with Store(settings.database_url) as store:
            revoked = ApiTokens(store).revoke_all(user)
        out.write(f"{user} removed ({revoked} API token(s) revoked)\n")
    else:
        for a in accounts.accounts():
            state = "  (disabled)" if a.disabled else ""
            out.write(f"{a.username:24}  {', '.join(a.roles):14}  {a.name}{state}\n")
    return 0
