"""Changing accounts: add one, set a password or roles, remove, disable and enable one; the
last administrator always stays, and no one locks themselves out. Each change is written at
once; when the write fails, memory stays as the file is.

Mixed into ``AccountsFile`` (file.py), which owns the state, the lock and the file.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from duet_core.accounts.file_format import Account, account_of, roles_of
from duet_core.accounts.passwords import hash_password
from duet_core.accounts.rules import check_password, check_roles, check_username
from duet_core.errors import ConfigError
from duet_core.vocabulary import ADMIN, USER


class AccountChanges:
    lock: threading.RLock
    credentials: dict[str, Any]  # {"usernames": {name: user}}: the accounts that may sign in
    disabled: dict[str, dict[str, Any]]

    def reload_if_changed(self) -> None:
        raise NotImplementedError

    def _save(self) -> None:
        raise NotImplementedError

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
            return account_of(key, user)

    def _active_admins(self) -> list[str]:
        return [n for n, u in self.credentials["usernames"].items() if ADMIN in roles_of(u)]

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
            return account_of(key, self.disabled[key])

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
            return account_of(key, users[key])

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
