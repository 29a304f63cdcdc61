"""Login: local accounts in a YAML file (streamlit-authenticator 0.4.2), the login gate that
app.py runs before any page, and the user management behind the Admin page.

One ``AuthFile`` per process holds the credentials; every session's ``Authenticate`` object
is built on that same dict, so a user added or a password reset on the Admin page counts at
once in every session. The file is written with only bcrypt hashes, to a temp file then
``os.replace``; an edit made to the file by hand is picked up on the next script run.
"""

from __future__ import annotations

import copy
import os
import re
import secrets
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st
import streamlit_authenticator as stauth
import yaml

from duet_core.errors import ConfigError
from duet_core.settings import Settings
from duet_ui.services import DEV_VIEWER, Viewer, current_viewer
from duet_ui.transcript import escape_markdown

ADMIN = "admin"
USER = "user"
ROLES = (USER, ADMIN)
COOKIE_NAME = "duet_auth"
COOKIE_EXPIRY_DAYS = 7
COOKIE_KEY_MIN_LENGTH = 32
USERNAME_RULE = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,31}$")
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_BYTES = 72  # bcrypt reads no further
LOGIN_SLEEP_TIME = 0.7  # the library's pause before each login form; tests set 0
DEV_BANNER = "Development mode: no login, no rate limits. Local use only."
TRANSIENT_FIELDS = ("logged_in", "failed_login_attempts")  # the library's in-memory bookkeeping
SESSION_KEY = "_duet_authenticator"
AUTH_STATE_KEYS = ("authentication_status", "name", "username", "email", "roles", "logout")


@dataclass(frozen=True)
class Account:
    username: str
    name: str
    email: str
    roles: tuple[str, ...]


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


def new_password() -> str:
    return secrets.token_urlsafe(12)


def new_cookie_key() -> str:
    return secrets.token_urlsafe(48)


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


def create_auth_file(path: Path) -> str:
    """Write a new auth file with one ``admin`` account; return its random password."""
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
                        "password": stauth.Hasher.hash(password),
                        "roles": [ADMIN],
                    }
                }
            },
        },
    )
    return password


class AuthFile:
    """The accounts and cookie settings of one auth file, shared by every session."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.lock = threading.RLock()
        self.credentials: dict[str, Any] = {"usernames": {}}
        self.cookie: dict[str, Any] = {}
        self._stat: tuple[int, int] | None = None
        with self.lock:
            if not self.path.exists():
                try:
                    password = create_auth_file(self.path)
                except OSError as e:
                    raise ConfigError(
                        f"Cannot create the auth file {self.path}: {e.strerror or e}."
                        " Set DUET_AUTH_FILE to a writable path."
                    ) from None
                print(
                    f"Duet: created {self.path} with user admin, password {password}"
                    " — change it on the Admin page",
                    file=sys.stderr,
                    flush=True,
                )
            self._load()

    def _file_stat(self) -> tuple[int, int] | None:
        try:
            s = self.path.stat()
        except FileNotFoundError:
            return None
        return (s.st_mtime_ns, s.st_size)

    def _load(self) -> None:
        try:
            data = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as e:
            raise ConfigError(f"Cannot read the auth file {self.path}: {e}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"The auth file {self.path} is not a YAML mapping.")
        cookie = dict(data.get("cookie") or {})
        users = (data.get("credentials") or {}).get("usernames") or {}
        usernames = {str(k).lower(): dict(v or {}) for k, v in users.items()}
        rewrite = False
        for user in usernames.values():
            password = str(user.get("password") or "")
            if password and not stauth.Hasher.is_hash(password):  # typed in by hand
                user["password"] = stauth.Hasher.hash(password)
                rewrite = True
        if len(str(cookie.get("key") or "")) < COOKIE_KEY_MIN_LENGTH:
            cookie["key"] = new_cookie_key()  # never run with a missing or guessable key
            rewrite = True
        cookie.setdefault("name", COOKIE_NAME)
        cookie.setdefault("expiry_days", COOKIE_EXPIRY_DAYS)
        self.cookie = cookie
        # replaced in place: every session's authenticator holds this very dict
        self.credentials["usernames"] = usernames
        if rewrite:
            self._save()
        self._stat = self._file_stat()

    def _save(self) -> None:
        users = {
            name: {k: v for k, v in user.items() if k not in TRANSIENT_FIELDS}
            for name, user in self.credentials["usernames"].items()
        }
        try:
            write_yaml_atomically(
                self.path, {"cookie": self.cookie, "credentials": {"usernames": users}}
            )
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
        with self.lock:
            return [
                Account(
                    username=name,
                    name=_display_name(user) or name,
                    email=str(user.get("email") or ""),
                    roles=tuple(user.get("roles") or (USER,)),
                )
                for name, user in sorted(self.credentials["usernames"].items())
            ]

    def add_user(
        self,
        username: str,
        password: str,
        name: str = "",
        email: str = "",
        roles: tuple[str, ...] | list[str] = (USER,),
        repeat: str | None = None,
    ) -> Account:
        """Add an account (password stored as a bcrypt hash); ConfigError when invalid."""
        username = check_username(username)
        check_password(password, repeat)
        roles = tuple(dict.fromkeys(roles)) or (USER,)
        unknown = [r for r in roles if r not in ROLES]
        if unknown:
            raise ConfigError(f"Unknown role {unknown[0]!r}: use {' or '.join(ROLES)}.")
        name = (name or "").strip()[:100]
        with self.lock:
            self.reload_if_changed()
            if username in self.credentials["usernames"]:
                raise ConfigError(f"There is already a user '{username}'.")
            first, _, last = name.partition(" ")
            self.credentials["usernames"][username] = {
                "email": (email or "").strip(),
                "first_name": first or username,
                "last_name": last,
                "password": stauth.Hasher.hash(password),
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
        username = (username or "").strip().lower()
        check_password(password, repeat)
        with self.lock:
            self.reload_if_changed()
            user = self.credentials["usernames"].get(username)
            if user is None:
                raise ConfigError(f"There is no user '{username}'.")
            before = user["password"]
            user["password"] = stauth.Hasher.hash(password)
            try:
                self._save()
            except ConfigError:
                user["password"] = before  # memory stays as the file is
                raise
            user.pop("failed_login_attempts", None)

    def authenticator(self) -> stauth.Authenticate:
        """A new Authenticate over the shared credentials (one per browser session)."""
        with self.lock:  # its constructor rewrites credentials["usernames"]
            return stauth.Authenticate(
                self.credentials,
                cookie_name=str(self.cookie["name"]),
                cookie_key=str(self.cookie["key"]),
                cookie_expiry_days=float(self.cookie["expiry_days"]),
                auto_hash=False,
                login_sleep_time=LOGIN_SLEEP_TIME,
            )


def _display_name(user: dict[str, Any]) -> str:
    return " ".join(str(user.get(k) or "") for k in ("first_name", "last_name")).strip()


@st.cache_resource(show_spinner=False)
def auth_file(path: str) -> AuthFile:
    """The process-wide AuthFile for ``path`` (created with an admin on first start)."""
    return AuthFile(path)


# --- the gate ----------------------------------------------------------------------------


def session_authenticator(accounts: AuthFile) -> stauth.Authenticate:
    """This session's Authenticate, built once (its constructor draws a cookie component)."""
    auth = st.session_state.get(SESSION_KEY)
    if auth is None or auth.authentication_controller.authentication_model.credentials is not (
        accounts.credentials
    ):
        auth = accounts.authenticator()
        st.session_state[SESSION_KEY] = auth
    return auth


def _logged_in() -> bool:
    return st.session_state.get("authentication_status") is True


def _forget_session_data() -> None:
    """After logout: drop everything this session held except the login state itself."""
    keep = {SESSION_KEY, *AUTH_STATE_KEYS}
    for key in list(st.session_state.keys()):
        if key not in keep:
            del st.session_state[key]


class _DeferredCookie:
    """Stands in for the authenticator's cookie controller during one login form: records
    that the library wants the "remember me" cookie set, so it can be drawn after the form
    is cleared (a component drawn inside the cleared form would never reach the browser)."""

    def __init__(self, controller: Any):
        self._controller = controller
        self.wanted = False

    def set_cookie(self) -> None:
        self.wanted = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._controller, name)


def _login_from_cookie(auth: stauth.Authenticate) -> None:
    """Log in from a valid "remember me" cookie at once. (``login()`` would do it too, but
    only after its pause, and a rerun arriving meanwhile would lose the page in the URL.)"""
    try:
        token = auth.cookie_controller.get_cookie()
        if token:
            auth.authentication_controller.login(token=token)
    except stauth.LoginError:  # a remembered user who no longer exists: show the form
        st.session_state["authentication_status"] = None


def _show_login(auth: stauth.Authenticate) -> None:
    # a shallow copy for this run only: two script runs of one session may overlap
    form_auth = copy.copy(auth)
    cookie = form_auth.cookie_controller = _DeferredCookie(auth.cookie_controller)
    box = st.empty()
    try:
        with box.container():
            st.title("🎭 Duet")
            form_auth.login(location="main", key="login")
    except stauth.LoginError as e:  # e.g. a remembered user who no longer exists
        st.error(f"Login failed: {e}")
        return
    status = st.session_state.get("authentication_status")
    if status is True:
        box.empty()  # the form goes at once; the page is drawn below
        if cookie.wanted:
            auth.cookie_controller.set_cookie()
    elif status is False:
        st.error("Wrong username or password.")


def _blank() -> None:
    """The page that 'runs' while the login form shows: nothing."""


def _hold_pages(pages: Sequence[st.Page]) -> None:
    """Declare the app's URLs with nothing behind them, so no page script runs before login
    and a deep link such as ``/history?run=<id>`` still leads to its page after login."""
    held = [
        st.Page(
            _blank,
            title="Log in",
            url_path=page.url_path or None,  # "" is the default page's
            default=not page.url_path,
        )
        for page in pages
    ]
    st.navigation(held or [st.Page(_blank, title="Log in", default=True)], position="hidden")


def login_gate(settings: Settings, pages: Sequence[st.Page] = ()) -> Viewer:
    """Who is using this session. Until someone logs in, shows the login form, keeps
    ``pages`` out of reach and stops the script. In development mode there is no login,
    only a warning banner."""
    if settings.dev_mode:
        st.warning(DEV_BANNER, icon="⚠️")
        return DEV_VIEWER
    try:
        accounts = auth_file(str(settings.auth_file))
        accounts.reload_if_changed()
    except ConfigError as e:
        st.error(str(e))
        _hold_pages(pages)
        st.stop()
    if not _logged_in():
        # the app's URLs first: the browser then knows the page in its address bar before
        # anything else is drawn (a rerun asked for by the cookie component would lose it)
        _hold_pages(pages)
        auth = session_authenticator(accounts)
        _login_from_cookie(auth)
        if not _logged_in():
            _show_login(auth)
        if not _logged_in():
            st.stop()
        # logged in during this run: app.py declares the real pages next
    auth = session_authenticator(accounts)
    with st.sidebar:
        name = escape_markdown(str(st.session_state.get("name") or ""))
        st.caption(f"Signed in as **{name}**")
        auth.logout("Log out", location="main", key="logout_button")
    if not _logged_in():  # just logged out: forget the session, show the form again
        _forget_session_data()
        _hold_pages(pages)
        _show_login(auth)
        st.stop()
    return current_viewer()


def accounts_for(settings: Settings) -> AuthFile:
    """The AuthFile the Admin page edits."""
    return auth_file(str(settings.auth_file))
