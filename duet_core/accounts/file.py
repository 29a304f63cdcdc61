"""``AccountsFile``: the accounts of one file, shared by every session of a process.

One ``AccountsFile`` per process holds the credentials. Every session's authenticator is built
on that same dict, so a user added or a password reset counts at once in every session. The
file holds only bcrypt hashes and is written to a temp file then ``os.replace``; an edit made
by hand is picked up by ``reload_if_changed`` (a password typed in plain is hashed then).
Changing accounts (add, password, roles, remove, disable, enable) is ``changes.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from duet_core.accounts.changes import AccountChanges
from duet_core.accounts.file_format import (
    COOKIE_EXPIRY_DAYS,
    COOKIE_KEY_MIN_LENGTH,
    COOKIE_NAME,
    Account,
    account_of,
    announce_created,
    create_accounts_file,
    roles_of,
    write_yaml_atomically,
)
from duet_core.accounts.passwords import (
    UNKNOWN_USER_HASH,
    hash_password,
    is_hash,
    new_cookie_key,
    password_matches,
)
from duet_core.errors import ConfigError

if TYPE_CHECKING:
    from duet_core.identity import Identity


class AccountsFile(AccountChanges):
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
            return [account_of(n, u) for n, u in sorted(users, key=lambda kv: kv[0])]

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
                    roles=roles_of(found),
                )
            user = self.credentials["usernames"].get((username or "").lower())
            return None if user is None else account_of(username.lower(), user)

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
            password_matches(password, UNKNOWN_USER_HASH)
            return None
        if not password_matches(password, hashed):
            return None
        return self.account(key)
