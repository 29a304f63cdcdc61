"""The login gate app.py runs before any page. Two ways in, either or both by configuration:
- local accounts (``DUET_LOCAL_ACCOUNTS``, on by default): streamlit-authenticator 0.4.2, one
  ``Authenticate`` per browser session, kept in ``st.session_state``, built on the process's
  shared credentials from ``duet_core.accounts``. Its ``login(location="unrendered")`` reads
  the "remember me" cookie; the form is ours (a narrow column, Login the primary button, the
  first start's hint), checked by its ``authentication_controller`` and remembered by its
  ``cookie_controller``, as its own form does; ``logout()``.
- an OpenID Provider configured in ``.streamlit/secrets.toml`` ``[auth]`` (``oidc.py``).

Two things the library does not do for us, each kept small and tested:
- ``_wait_for_cookie``: after a password login the page shows only once the browser holds
  the "remember me" cookie, so a second URL opened at once is still logged in
  (tests/browser/test_login.py).
- ``_forget_stale_cookie``: a remembered user who no longer exists makes every ``login()``
  call raise; the library's own ``logout`` flag makes it skip the cookie and show the form.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import streamlit as st
import streamlit_authenticator as stauth

from duet_core.accounts import AccountsFile
from duet_core.errors import ConfigError
from duet_core.settings import Settings
from duet_ui.shared.transcript import escape_markdown
from duet_ui.shell import oidc
from duet_ui.shell.services import DEV_VIEWER, OIDC_VIEWER_KEY, Viewer, current_viewer

# The library pauses this long before each login() while logged out (0.7 s by default). It
# reads the cookie from the request, so the pause buys nothing, and a rerun arriving during it
# would lose the page in the URL.
LOGIN_SLEEP_TIME = 0.0
DEV_BANNER = "Development mode: no login, no rate limits. Local use only."
SESSION_KEY = "_duet_authenticator"
AUTH_STATE_KEYS = ("authentication_status", "name", "username", "email", "roles", "logout")
SIGNING_IN = "Signing in…"
LOGIN_WIDTH = 420  # px: the login page's column
FIRST_START_HINT = (
    "First start: the password of the **admin** account was printed in the terminal where the"
    " server was started (the line `Duet: created … with user admin, password …`). Log in with"
    " it, then change it on the Admin page."
)
NO_SIGN_IN = (
    "No way to sign in is set up: set DUET_LOCAL_ACCOUNTS=1, or configure an identity"
    " provider in .streamlit/secrets.toml [auth]."
)


@st.cache_resource(show_spinner=False)
def accounts_file(path: str) -> AccountsFile:
    """The process-wide AccountsFile for ``path`` (created with an admin on first start)."""
    return AccountsFile(path)


def accounts_for(settings: Settings) -> AccountsFile:
    """The AccountsFile the Admin page edits."""
    return accounts_file(str(settings.auth_file))


def session_authenticator(accounts: AccountsFile) -> stauth.Authenticate:
    """This session's Authenticate, built once per session and accounts file (its
    constructor draws the library's cookie component)."""
    held = st.session_state.get(SESSION_KEY)
    if held is None or held[0] is not accounts:
        with accounts.lock:  # the constructor rebinds credentials["usernames"]
            auth = stauth.Authenticate(
                accounts.credentials,
                cookie_name=str(accounts.cookie["name"]),
                cookie_key=str(accounts.cookie["key"]),
                cookie_expiry_days=float(accounts.cookie["expiry_days"]),
                auto_hash=False,
                login_sleep_time=LOGIN_SLEEP_TIME,
            )
        held = st.session_state[SESSION_KEY] = (accounts, auth)
    return held[1]


def _authenticator_without_cookie_reader(accounts: AccountsFile) -> stauth.Authenticate:
    """This session's Authenticate, with the cookie-reading component its constructor draws
    (extra_streamlit_components' ``CookieManager(key="init")``, first run only) taken off
    the page in the same run. The library reads the cookie from the request
    (``st.context.cookies``), so the component's answer is never used, but in the browser it
    triggered a rerun up to a second after the form showed. A Login pressed in that window
    was lost: the component's rerun pre-empted the run carrying the button's one-shot
    trigger (tests/browser/test_login.py::test_a_login_pressed_at_once_is_not_lost).
    The slot also keeps the form below in its place in later runs (otherwise the old form
    stays on screen next to the new one until the run ends)."""
    slot = st.empty()
    with slot:
        auth = session_authenticator(accounts)
    slot.empty()
    return auth


def _logged_in() -> bool:
    return st.session_state.get("authentication_status") is True


def _forget_session_data() -> None:
    """After logout: drop everything this session held except the login state itself."""
    keep = {SESSION_KEY, *AUTH_STATE_KEYS}
    for key in list(st.session_state.keys()):
        if key not in keep:
            del st.session_state[key]


def _forget_stale_cookie() -> None:
    """A remembered user who no longer exists: the library raises on every ``login()`` while
    the cookie is there, unless its ``logout`` flag is set (then it ignores the cookie)."""
    st.session_state["logout"] = True


@contextmanager
def login_page() -> Iterator[None]:
    """The login page's narrow column, centred, with the app's name on top."""
    with st.container(horizontal_alignment="center"), st.container(width=LOGIN_WIDTH):
        st.title(":material/forum: Duet", anchor=False)
        yield


def _first_start_hint(accounts: AccountsFile) -> None:
    if accounts.first_start:
        st.info(FIRST_START_HINT, icon=":material/terminal:")


def _login(
    auth: stauth.Authenticate,
    accounts: AccountsFile,
    cookie_days: float,
    providers: Sequence[str] = (),
) -> None:
    """Log in from the "remember me" cookie or through the form (and the identity
    providers' buttons, when configured). Returns only when logged in by the cookie during
    this run; otherwise draws the login page (or the wait) and stops."""
    while True:
        try:  # the cookie only: the library draws nothing with "unrendered"
            auth.login(location="unrendered", key="login")
            break
        except stauth.LoginError as e:
            if st.session_state.get("logout"):  # not the cookie's doing
                st.error(f"Login failed: {e}")
                st.stop()
            _forget_stale_cookie()  # a remembered user who is gone: show the form
    if st.session_state.get("authentication_status") is True:
        return  # the cookie logged in: straight to the page
    box = st.empty()
    with box.container(), login_page():
        if providers:
            oidc.sign_in_buttons(providers, primary=False)
            st.caption("or with a Duet account")
        _first_start_hint(accounts)
        with st.form("login"):
            st.subheader("Log in")
            username = st.text_input("Username", autocomplete="username")
            password = st.text_input("Password", type="password", autocomplete="current-password")
            pressed = st.form_submit_button("Login", type="primary", width="stretch")
        if pressed:
            try:
                ok = auth.authentication_controller.login(username, password)
            except stauth.LoginError as e:
                st.error(f"Login failed: {e}")
                st.stop()
            if ok:
                auth.cookie_controller.set_cookie()
                _wait_for_cookie(cookie_days)
            else:
                st.error("Wrong username or password.")
    st.stop()


def _oidc_only_login(providers: Sequence[str]) -> None:
    """Local accounts are off: the providers' buttons only."""
    with login_page():
        oidc.sign_in_buttons(providers, primary=True)
    st.stop()


def _wait_for_cookie(cookie_days: float) -> None:
    """Logged in by the form. The library has just drawn the component that writes the
    "remember me" cookie in the browser; once written, it sends its value back, which reruns
    the script, and that run shows the page. Shown in this run, the page would appear before
    the cookie exists, and a second URL opened at once would ask to log in again."""
    if cookie_days == 0:  # no cookie is written: nothing to wait for
        st.rerun()
    st.caption(SIGNING_IN)


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


def _refresh_roles(accounts: AccountsFile) -> bool:
    """The signed-in user's roles as the accounts file says now (an admin's change counts at
    once). False when the account is gone."""
    account = accounts.account(str(st.session_state.get("username") or ""))
    if account is None:
        return False
    st.session_state["roles"] = list(account.roles)
    return True


def login_gate(settings: Settings, pages: Sequence[st.Page] = ()) -> Viewer:
    """Who is using this session. Until someone logs in, shows the login form, keeps
    ``pages`` out of reach and stops the script. In development mode there is no login,
    only a warning banner."""
    if settings.dev_mode:
        st.warning(DEV_BANNER, icon=":material/warning:")
        return DEV_VIEWER
    try:
        accounts = accounts_for(settings)
        accounts.reload_if_changed()
    except ConfigError as e:
        st.error(str(e))
        _hold_pages(pages)
        st.stop()
    providers = oidc.providers()
    if oidc.signed_in(providers):  # through the identity provider
        return oidc.oidc_viewer(settings, accounts, providers, _held_login_page(pages))
    st.session_state.pop(OIDC_VIEWER_KEY, None)
    if not settings.local_accounts:
        _hold_pages(pages)
        if not providers:
            st.error(NO_SIGN_IN)
            st.stop()
        _oidc_only_login(providers)
    cookie_days = float(accounts.cookie["expiry_days"])
    if not _logged_in():
        # the app's URLs first: the browser then knows the page in its address bar before
        # anything else is drawn (a rerun asked for by the cookie component would lose it)
        _hold_pages(pages)
        auth = _authenticator_without_cookie_reader(accounts)
        _login(auth, accounts, cookie_days, providers)
        # logged in by the cookie during this run: app.py declares the real pages next
    auth = session_authenticator(accounts)
    if _refresh_roles(accounts):
        with st.sidebar:
            name = escape_markdown(str(st.session_state.get("name") or ""))
            st.caption(f"Signed in as **{name}**")
            auth.logout("Log out", location="main", key="logout_button")
    else:  # the account was removed from the file
        auth.logout(location="unrendered")
    if not _logged_in():  # just logged out: forget the session, show the form again
        _forget_session_data()
        _hold_pages(pages)
        _login(auth, accounts, cookie_days, providers)
    return current_viewer()


def _held_login_page(pages: Sequence[st.Page]):
    """``login_page`` for a signed-in person who may not go on: the app's pages held first."""

    @contextmanager
    def page() -> Iterator[None]:
        _hold_pages(pages)
        with login_page():
            yield

    return page
