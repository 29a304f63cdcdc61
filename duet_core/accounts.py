"""Local accounts: the YAML file of users, their roles, password hashing and validation.

No Streamlit here. The file is streamlit-authenticator's documented config format (``cookie``
and ``credentials.usernames.<user>``: email, first_name, last_name, password, roles), so the
login gate (``duet_ui/shell/login.py``) hands ``AccountsFile.credentials`` to the library as it is.

One ``AccountsFile`` per process holds the credentials. Every session's authenticator is built
on that same dict, so a user added or a password reset counts at once in every session. The
file holds only bcrypt hashes and is written to a temp file then ``os.replace``; an edit made
by hand is picked up by ``reload_if_changed`` (a password typed in plain is hashed then).

A disabled account (``disabled: true`` in its entry) stays in the file but is kept out of
``credentials``: the login form does not know it (as if removed: a session signed in as it is
signed out on its next run), ``account`` and ``verify`` answer None, so its API tokens and
password stop working; ``accounts()`` lists it, with ``disabled`` set, and ``enable_user``
lets it in again.

People who sign in through an OpenID Provider (``duet_core/identity.py``) have no password
here: the file's ``identities`` section (never handed to the library) keeps, under each one's
subject key, their name and the roles of their last sign-in, so their API tokens work as them.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bcrypt
import yaml

from duet_core.errors import ConfigError
from duet_core.vocabulary import ADMIN, FACILITATOR, ROLES, USER

if TYPE_CHECKING:
    from duet_core.identity import Identity


COOKIE_NAME = "duet_auth"
COOKIE_EXPIRY_DAYS = 7
COOKIE_KEY_MIN_LENGTH = 32  # the cookie is an HS256 JWT signed with this key
USERNAME_RULE = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,31}$")
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_BYTES = 72  # bcrypt reads no further (bcrypt 5 refuses longer)
_BCRYPT_HASH = re.compile(r"^\$2[aby]\$\d+\$.{53}$")  # the form streamlit-authenticator checks
# checked when the user is unknown, so that answer takes as long as a wrong password
_UNKNOWN_USER_HASH = "$2b$12$C6UzMDM.H6dfI/f/IKxGhu6J4Am6eWjZ1PnHpQa8a7HTAmiy8Osn2"


@dataclass(frozen=True)
class Account:
    username: str
    name: str
    email: str
    roles: tuple[str, ...]
    disabled: bool = False


# --- passwords ---------------------------------------------------------------------------


def hash_password(password: str) -> str:
    """A bcrypt hash, as ``streamlit_authenticator.Hasher.hash`` makes it."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()


def is_hash(value: str) -> bool:
    return bool(_BCRYPT_HASH.match(value))


def password_matches(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:  # not a hash, or a password bcrypt refuses
        return False


def new_password() -> str:
    return secrets.token_urlsafe(12)


def new_cookie_key() -> str:
    return secrets.token_urlsafe(48)


# --- validation --------------------------------------------------------------------------


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


# --- the file ----------------------------------------------------------------------------


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


class AccountsFile:
    """The accounts and cookie settings of one file, shared by every session of a process.

    ``credentials`` is handed to streamlit-authenticator, which rebinds
    ``credentials["usernames"]`` (lower-casing the names) and adds its own bookkeeping
    (``logged_in``, ``failed_login_attempts``) to each user, as its documentation says; so
    this class always reaches users through ``self.credentials["usernames"]``.
    """

    def __init__(self, path: Path | str, on_create: Callable[[Path, str], None] = announce_created):
        self.path = Path(path)
        self.lock = threading.RLock()
        self.credentials: dict[str, Any] = {"usernames": {}}
        self.disabled: dict[str, dict[str, Any]] = {}  # disabled accounts, not in credentials
        self.cookie: dict[str, Any] = {}
        self.identities: dict[str, dict[str, Any]] = {}
        # this process made the file: the first admin's hash, while it is unchanged
        self._first_hash: str | None = None
        self._stat: tuple[int, int] | None = None
        with self.lock:
            if not self.path.exists():
                try:
                    password = create_accounts_file(self.path)
                except OSError as e:
                    raise ConfigError(
                        f"Cannot create the auth file {self.path}: {e.strerror or e}."
                        " Set DUET_AUTH_FILE to a writable path."
                    ) from None
                on_create(self.path, password)
                self._load()
                self._first_hash = self._admin_hash()
            else:
                self._load()

    def _admin_hash(self) -> str | None:
        return (self.credentials["usernames"].get("admin") or {}).get("password")

    @property
    def first_start(self) -> bool:
        """This process created the file and its admin still has the password printed on
        the server's terminal (the login page says where to find it)."""
        with self.lock:
            return self._first_hash is not None and self._admin_hash() == self._first_hash

    def _file_stat(self) -> tuple[int, int] | None:
        try:
            s = self.path.stat()
        except FileNotFoundError:
            return None
        return (s.st_mtime_ns, s.st_size)

    def _load(self) -> None:
        try:
            data = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
            raise ConfigError(f"Cannot read the auth file {self.path}: {e}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"The auth file {self.path} is not a YAML mapping.")
        cookie = dict(data.get("cookie") or {})
        users = (data.get("credentials") or {}).get("usernames") or {}
        if not isinstance(users, dict):
            raise ConfigError(f"The auth file {self.path}: credentials.usernames is not a mapping.")
        usernames = {str(k).lower(): dict(v or {}) for k, v in users.items()}
        rewrite = False
        for user in usernames.values():
            password = str(user.get("password") or "")
            if password and not is_hash(password):  # typed in by hand
                user["password"] = hash_password(password)
                rewrite = True
        if len(str(cookie.get("key") or "")) < COOKIE_KEY_MIN_LENGTH:
            cookie["key"] = new_cookie_key()  # never run with a missing or guessable key
            rewrite = True
        cookie.setdefault("name", COOKIE_NAME)
        cookie.setdefault("expiry_days", COOKIE_EXPIRY_DAYS)
        self.cookie = cookie
        identities = data.get("identities") or {}
        if not isinstance(identities, dict):
            raise ConfigError(f"The auth file {self.path}: identities is not a mapping.")
        self.identities = {str(k): dict(v or {}) for k, v in identities.items()}
        # replaced in place: every session's authenticator holds this very dict
        self.credentials["usernames"] = {
            n: u for n, u in usernames.items() if not u.get("disabled")
        }
        self.disabled = {n: u for n, u in usernames.items() if u.get("disabled")}
        if rewrite:
            self._save()
        self._stat = self._file_stat()

    def _save(self) -> None:
        # a copy first: the library may add its bookkeeping to a user from a session thread
        active = list(self.credentials["usernames"].items())
        users = {
            name: dict(user)
            for name, user in sorted([*active, *self.disabled.items()], key=lambda kv: kv[0])
        }
        data: dict[str, Any] = {"cookie": dict(self.cookie), "credentials": {"usernames": users}}
        if self.identities:
            data["identities"] = {k: dict(v) for k, v in self.identities.items()}
        try:
            write_yaml_atomically(self.path, data)
        except OSError as e:
            reason = e.strerror or e
            raise ConfigError(f"Cannot write the auth file {self.path}: {reason}") from None
        self._stat = self._file_stat()

    def reload_if_changed(self) -> None:
        """Read the file again when it changed on disk since we last read or wrote it."""
        with self.lock:
            if self._file_stat() != self._stat:
                self._load()

    # --- accounts ------------------------------------------------------------------------

    def accounts(self) -> list[Account]:
        """Every account, the disabled ones too (``Account.disabled``), by username."""
        with self.lock:
            users = [*self.credentials["usernames"].items(), *self.disabled.items()]
            return [_account(n, u) for n, u in sorted(users, key=lambda kv: kv[0])]

    def account(self, username: str) -> Account | None:
        """The account that may sign in as ``username``: a local one (None when there is none,
        or it is disabled), or a person of an OpenID Provider by their subject key (as of their
        last sign-in). The login page and the API ask here. Reads the file again first when it
        changed: another process (or the other reader in this one) may have disabled it."""
        with self.lock:
            self.reload_if_changed()
            found = self.identities.get(username or "")
            if found is not None:
                return Account(
                    username=username,
                    name=str(found.get("name") or username),
                    email=str(found.get("email") or ""),
                    roles=_roles_of(found),
                )
            user = self.credentials["usernames"].get((username or "").lower())
            return None if user is None else _account(username.lower(), user)

    def identity_names(self) -> dict[str, str]:
        """{subject key: name} of the people of an identity provider (for owner columns)."""
        with self.lock:
            self.reload_if_changed()
            return {k: str(v.get("name") or k) for k, v in self.identities.items()}

    def remember_identity(self, identity: Identity) -> None:
        """Record (or bring up to date) a person signed in through an OpenID Provider, so
        their API tokens act as them with the roles of this sign-in. Written only on change."""
        record = {
            "name": identity.name,
            "email": identity.email,
            "roles": list(identity.roles),
            "issuer": identity.issuer,
            "subject": identity.subject,
        }
        with self.lock:
            self.reload_if_changed()
            before = self.identities.get(identity.key)
            if before == record:
                return
            self.identities[identity.key] = record
            try:
                self._save()
            except ConfigError:
                self._restore_identity(identity.key, before)
                raise

    def forget_identity(self, key: str) -> None:
        """Drop a person's record (refused at their last sign-in): their tokens stop working."""
        with self.lock:
            self.reload_if_changed()
            before = self.identities.pop(key, None)
            if before is None:
                return
            try:
                self._save()
            except ConfigError:
                self._restore_identity(key, before)
                raise

    def _restore_identity(self, key: str, record: dict[str, Any] | None) -> None:
        if record is None:  # memory stays as the file is
            self.identities.pop(key, None)
        else:
            self.identities[key] = record

    def verify(self, username: str, password: str) -> Account | None:
        """The account whose password this is; None for a wrong password or an unknown user
        (checked against a hash all the same, so the time taken tells neither apart)."""
        key = (username or "").strip().lower()
        with self.lock:
            self.reload_if_changed()
            user = self.credentials["usernames"].get(key)
            hashed = str(user.get("password") or "") if user is not None else ""
        if not is_hash(hashed):
            password_matches(password, _UNKNOWN_USER_HASH)
            return None
        if not password_matches(password, hashed):
            return None
        return self.account(key)

    def add_user(
        self,
        username: str,
        password: str,
        name: str = "",
        email: str = "",
        roles: Iterable[str] = (USER,),
        repeat: str | None = None,
    ) -> Account:
        """Add an account (password stored as a bcrypt hash); ConfigError when invalid."""
        username = check_username(username)
        check_password(password, repeat)
        roles = check_roles(roles)
        name = (name or "").strip()[:100]
        with self.lock:
            self.reload_if_changed()
            if username in self.credentials["usernames"] or username in self.disabled:
                raise ConfigError(f"There is already a user '{username}'.")
            first, _, last = name.partition(" ")
            self.credentials["usernames"][username] = {
                "email": (email or "").strip(),
                "first_name": first or username,
                "last_name": last,
                "password": hash_password(password),
                "roles": list(roles),
            }
            try:
                self._save()
            except ConfigError:
                del self.credentials["usernames"][username]  # memory stays as the file is
                raise
        return Account(username, name or username, (email or "").strip(), roles)

    def set_password(self, username: str, password: str, repeat: str | None = None) -> None:
        """Replace a user's password (stored hashed); ConfigError when invalid or unknown."""
        check_password(password, repeat)
        self._change(username, password=hash_password(password), failed_login_attempts=0)

    def set_roles(self, username: str, roles: Iterable[str]) -> Account:
        """Give a user these roles. The last administrator keeps the admin role."""
        roles = check_roles(roles)
        with self.lock:
            self.reload_if_changed()
            key = (username or "").strip().lower()
            if ADMIN not in roles and self._active_admins() == [key]:
                raise ConfigError(f"'{key}' is the last administrator: make another one first.")
            self._change(username, roles=list(roles))
            user = self.credentials["usernames"].get(key) or self.disabled[key]
            return _account(key, user)

    def _active_admins(self) -> list[str]:
        return [n for n, u in self.credentials["usernames"].items() if ADMIN in _roles_of(u)]

    def _check_may_lock_out(self, key: str, by: str | None, what: str) -> None:
        """ConfigError when ``key`` is unknown, is ``by`` (no one removes or disables their
        own account), or is the last administrator who may sign in."""
        if key not in self.credentials["usernames"] and key not in self.disabled:
            raise ConfigError(f"There is no user '{key}'.")
        if by is not None and key == by.strip().lower():
            raise ConfigError(f"You cannot {what} your own account; another administrator can.")
        if self._active_admins() == [key]:
            raise ConfigError(f"'{key}' is the last administrator: make another one first.")

    def remove_user(self, username: str, by: str | None = None) -> None:
        """Remove an account (enabled or disabled); the last administrator stays, and ``by``
        (the administrator asking) cannot remove themselves. ConfigError when unknown."""
        key = (username or "").strip().lower()
        with self.lock:
            self.reload_if_changed()
            self._check_may_lock_out(key, by, "remove")
            users = self.credentials["usernames"]
            place = users if key in users else self.disabled
            removed = place.pop(key)
            try:
                self._save()
            except ConfigError:
                place[key] = removed  # memory stays as the file is
                raise

    def disable_user(self, username: str, by: str | None = None) -> Account:
        """Disable an account: it can no longer sign in, and its API tokens and password stop
        working, until ``enable_user``. Same limits as ``remove_user``; disabling a disabled
        account changes nothing."""
        key = (username or "").strip().lower()
        with self.lock:
            self.reload_if_changed()
            self._check_may_lock_out(key, by, "disable")
            users = self.credentials["usernames"]
            if key in users:
                user = users.pop(key)
                user["disabled"] = True
                self.disabled[key] = user
                try:
                    self._save()
                except ConfigError:
                    user.pop("disabled", None)
                    users[key] = self.disabled.pop(key)  # memory stays as the file is
                    raise
            return _account(key, self.disabled[key])

    def enable_user(self, username: str) -> Account:
        """Let a disabled account sign in again (an enabled one: no change)."""
        key = (username or "").strip().lower()
        with self.lock:
            self.reload_if_changed()
            users = self.credentials["usernames"]
            if key not in users and key not in self.disabled:
                raise ConfigError(f"There is no user '{key}'.")
            if key in self.disabled:
                user = self.disabled.pop(key)
                user.pop("disabled", None)
                users[key] = user
                try:
                    self._save()
                except ConfigError:
                    user["disabled"] = True
                    self.disabled[key] = users.pop(key)  # memory stays as the file is
                    raise
            return _account(key, users[key])

    def _change(self, username: str, **fields: Any) -> None:
        username = (username or "").strip().lower()
        with self.lock:
            self.reload_if_changed()
            user = self.credentials["usernames"].get(username) or self.disabled.get(username)
            if user is None:
                raise ConfigError(f"There is no user '{username}'.")
            before = dict(user)
            user.update(fields)
            try:
                self._save()
            except ConfigError:
                user.clear()
                user.update(before)  # memory stays as the file is
                raise


def _roles_of(user: dict[str, Any]) -> tuple[str, ...]:
    return tuple(user.get("roles") or (USER,))


def _account(username: str, user: dict[str, Any]) -> Account:
    name = " ".join(str(user.get(k) or "") for k in ("first_name", "last_name")).strip()
    return Account(
        username=username,
        name=name or username,
        email=str(user.get("email") or ""),
        roles=_roles_of(user),
        disabled=bool(user.get("disabled")),
    )
