"""``python -m duet_core tokens create|list|revoke``: personal API tokens from a terminal.

    tokens create USER [--name LABEL] [--db URL]   # prints the token, shown this once
    tokens list [USER] [--db URL]
    tokens revoke TOKEN_ID [--db URL]

A token acts as its account (in the accounts file, ``DUET_AUTH_FILE``) with that account's role;
only its hash is stored. Bad input exits 2 with one line.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from duet_core.accounts import AccountsFile
from duet_core.errors import ConfigError, NotFound
from duet_core.settings import Settings
from duet_core.store import Store
from duet_core.store.tokens import ApiTokens


def add_parser(sub: Any) -> None:
    tokens = sub.add_parser("tokens", help="personal API tokens for the HTTP API")
    commands = tokens.add_subparsers(dest="tokens_command", required=True)
    create = commands.add_parser("create", help="make a token for USER (shown once)")
    create.add_argument("user")
    create.add_argument("--name", default="", help="a label: what the token is for")
    listing = commands.add_parser("list", help="tokens that are not revoked")
    listing.add_argument("user", nargs="?", help="only this account's")
    revoke = commands.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("token_id")
    for p in (create, listing, revoke):
        p.add_argument("--db", help="database URL (default DUET_DATABASE_URL)")


def _account(settings: Settings, user: str) -> str:
    """``user`` as the accounts file spells it; ConfigError when there is no such account."""
    path = settings.auth_file
    if not path.is_file():
        raise ConfigError(
            f"No accounts file at {path} (DUET_AUTH_FILE): start the app once, which makes it."
        )
    account = AccountsFile(path).account(user)
    if account is None:
        raise ConfigError(f"There is no account '{user}' in {path}.")
    return account.username


def cmd_tokens(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    command = args.tokens_command
    if command == "create":
        user = _account(settings, args.user)
        with Store(args.db or settings.database_url) as store:
            token, secret = ApiTokens(store).create(user, args.name)
        out.write(secret + "\n")
        print(
            f"duet: token {token.id} for {user}; it is shown this once: keep it somewhere safe.",
            file=sys.stderr,
        )
        return 0
    with Store(args.db or settings.database_url, must_exist=True) as store:
        tokens = ApiTokens(store)
        if command == "revoke":
            try:
                token = tokens.revoke(args.token_id)
            except NotFound as e:
                raise ConfigError(e.message) from None
            out.write(f"{token.id} revoked\n")
            return 0
        items = tokens.list(args.user)
    if not items:
        out.write("No API tokens. Make one with: python -m duet_core tokens create USER\n")
        return 0
    out.write(f"{'id':12}  {'user':16}  {'created':16}  {'last used':16}  name\n")
    for t in items:
        used = t.last_used_at.strftime("%Y-%m-%d %H:%M") if t.last_used_at else "never"
        created = t.created_at.strftime("%Y-%m-%d %H:%M")
        out.write(f"{t.id:12}  {t.username[:16]:16}  {created:16}  {used:16}  {t.name}\n")
    return 0
