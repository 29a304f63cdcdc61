"""The accounts file's format: streamlit-authenticator's documented config (``cookie`` and
``credentials.usernames.<user>``: email, first_name, last_name, password, roles), written
atomically; a new file has one ``admin`` with a random password."""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from duet_core.accounts.passwords import hash_password, new_cookie_key, new_password
from duet_core.vocabulary import ADMIN, USER

COOKIE_NAME = "duet_auth"
COOKIE_EXPIRY_DAYS = 7
COOKIE_KEY_MIN_LENGTH = 32  # the cookie is an HS256 JWT signed with this key


@dataclass(frozen=True)
class Account:
    username: str
    name: str
    email: str
    roles: tuple[str, ...]
    disabled: bool = False


def write_yaml_atomically(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` (owner-only permissions) via a temp file and os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            yaml.safe_dump(data, f, default_flow_style=False, allow_unicode=True, sort_keys=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def create_accounts_file(path: Path) -> str:
    """Write a new accounts file with one ``admin`` account; return its random password."""
    password = new_password()
    write_yaml_atomically(
        path,
        {
            "cookie": {
                "name": COOKIE_NAME,
                "key": new_cookie_key(),
                "expiry_days": COOKIE_EXPIRY_DAYS,
            },
            "credentials": {
                "usernames": {
                    "admin": {
                        "email": "",
                        "first_name": "Admin",
                        "last_name": "",
                        "password": hash_password(password),
                        "roles": [ADMIN],
                    }
                }
            },
        },
    )
    return password


def announce_created(path: Path, password: str) -> None:
    """The one time the first admin's password is shown: on the server's terminal."""
    print(
        f"Duet: created {path} with user admin, password {password} — change it on the Admin page",
        file=sys.stderr,
        flush=True,
    )


def roles_of(user: dict[str, Any]) -> tuple[str, ...]:
    return tuple(user.get("roles") or (USER,))


def account_of(username: str, user: dict[str, Any]) -> Account:
    name = " ".join(str(user.get(k) or "") for k in ("first_name", "last_name")).strip()
    return Account(
        username=username,
        name=name or username,
        email=str(user.get("email") or ""),
        roles=roles_of(user),
        disabled=bool(user.get("disabled")),
    )
