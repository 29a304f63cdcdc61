"""What a username, a password and a set of roles may be (ConfigError saying so), and what
roles allow."""

from __future__ import annotations

import re
from collections.abc import Iterable

from duet_core.errors import ConfigError
from duet_core.vocabulary import ADMIN, FACILITATOR, ROLES, USER

USERNAME_RULE = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,31}$")
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_BYTES = 72  # bcrypt reads no further (bcrypt 5 refuses longer)


def check_username(username: str) -> str:
    """The username lower-cased, or ConfigError saying what a username may be."""
    username = (username or "").strip().lower()
    if not USERNAME_RULE.match(username):
        raise ConfigError(
            "A username is 2 to 32 characters: lower-case letters, digits, '.', '_' or '-',"
            " starting with a letter or digit."
        )
    return username


def check_password(password: str, repeat: str | None = None) -> str:
    if password != password.strip():
        raise ConfigError("The password must not start or end with a space.")
    if len(password) < PASSWORD_MIN_LENGTH:
        raise ConfigError(f"The password must be at least {PASSWORD_MIN_LENGTH} characters.")
    if len(password.encode()) > PASSWORD_MAX_BYTES:
        raise ConfigError(f"The password must be at most {PASSWORD_MAX_BYTES} bytes.")
    if repeat is not None and repeat != password:
        raise ConfigError("The two passwords differ.")
    return password


def check_roles(roles: Iterable[str]) -> tuple[str, ...]:
    """Known roles, without repeats; ``(user,)`` when none is given."""
    roles = tuple(dict.fromkeys(roles)) or (USER,)
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ConfigError(f"Unknown role {unknown[0]!r}: use {', '.join(ROLES)}.")
    return roles


def has_role(roles: Iterable[str], *wanted: str) -> bool:
    """Whether ``roles`` include any of ``wanted``. An admin may do what a facilitator may."""
    roles = set(roles)
    if ADMIN in roles:
        roles.add(FACILITATOR)
    return any(r in roles for r in wanted)
