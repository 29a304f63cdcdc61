"""Sign-in through the organisation's OpenID Provider with Streamlit's own ``st.login`` /
``st.user`` / ``st.logout``, configured in ``.streamlit/secrets.toml`` ``[auth]`` as Streamlit
documents (one provider in ``[auth]`` itself, or several as ``[auth.<name>]``).

Streamlit checks the ID token once, at the callback, then keeps its claims in a cookie for 30
days; it never looks at ``exp`` again. The gate does, on every run: an expired sign-in shows
the login page with a message and nothing of the app. Roles come from the groups claim through
the settings' mapping (``duet_core.identity``); a refused person sees why and a Log out button.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import streamlit as st
from streamlit.errors import StreamlitAuthError

from duet_core.accounts import AccountsFile
from duet_core.errors import ConfigError
from duet_core.identity import (
    RoleMapping,
    expired,
    expires_at,
    identity_from_claims,
    subject_key,
)
from duet_core.settings import Settings
from duet_ui.shared.transcript import escape_markdown
from duet_ui.shell.services import OIDC_VIEWER_KEY, Viewer

DEFAULT = "default"  # Streamlit's name for the provider written in [auth] itself


def providers() -> list[str]:
    """The OpenID Providers ``[auth]`` configures (none: OIDC sign-in is off)."""
    try:
        if not st.secrets.load_if_toml_exists():
            return []
        auth = st.secrets.get("auth")
    except Exception:  # an unreadable secrets file: Duet's settings report it
        return []
    if not isinstance(auth, Mapping):
        return []
    names = [DEFAULT] if "client_id" in auth else []
    names += [k for k, v in auth.items() if isinstance(v, Mapping) and "client_id" in v]
    return names


def signed_in(names: Sequence[str]) -> bool:
    return bool(names) and st.user.get("is_logged_in") is True


def provider_label(name: str) -> str:
    return "Sign in with single sign-on" if name == DEFAULT else f"Sign in with {name.title()}"


def sign_in_buttons(
    names: Sequence[str], primary: bool, label: Callable[[str], str] = provider_label
) -> None:
    """One button per provider; a press sends the browser to the provider's login page."""
    for name in names:
        if st.button(
            label(name),
            key=f"oidc_login_{name}",
            type="primary" if primary else "secondary",
            icon=":material/login:",
            width="stretch",
        ):
            try:
                st.login(None if name == DEFAULT else name)
            except StreamlitAuthError as e:  # [auth] lacks redirect_uri, cookie_secret ...
                st.error(f"Sign-in with {name} is not set up right: {e}")


def _claims() -> dict:
    return {k: v for k, v in st.user.to_dict().items() if k != "tokens"}


def _forget_viewer() -> None:
    st.session_state.pop(OIDC_VIEWER_KEY, None)


def _log_out_button() -> None:
    if st.button("Log out", key="logout_button", icon=":material/logout:"):
        _forget_viewer()
        st.logout()


def oidc_viewer(
    settings: Settings, accounts: AccountsFile, names: Sequence[str], login_page: Callable
) -> Viewer:
    """The person signed in through the provider, with the roles their groups give; or the
    reason they may not go on (expired, refused), drawn by ``login_page`` and the script
    stopped."""
    claims = _claims()
    provider = str(claims.get("provider") or DEFAULT)
    if expired(claims):
        _forget_viewer()
        until = expires_at(claims)
        when = f" at {until:%H:%M} UTC" if until else ""
        with login_page():
            st.warning(
                f"Your sign-in expired{when}: sign in again to go on.", icon=":material/timer_off:"
            )
            sign_in_buttons(
                [provider if provider in names else names[0]], True, lambda _: "Sign in again"
            )
            _log_out_button()
        st.stop()
    try:
        identity = identity_from_claims(claims, RoleMapping.from_settings(settings))
    except ValueError as e:
        with login_page():
            st.error(str(e))
            _log_out_button()
        st.stop()
    if identity is None:  # in no mapped group, and the settings refuse such people
        _forget_viewer()
        accounts.forget_identity(subject_key(str(claims["iss"]), str(claims["sub"])))
        with login_page():
            name = escape_markdown(str(claims.get("name") or claims.get("email") or ""))
            st.error(
                f"You are signed in as **{name}**, but your account is in no group that may use"
                " Duet. Ask your administrator for access.",
                icon=":material/block:",
            )
            _log_out_button()
        st.stop()
    try:
        accounts.remember_identity(identity)  # so their API tokens act as them
    except ConfigError as e:
        st.error(str(e))
        st.stop()
    viewer = Viewer(identity.key, identity.name, identity.roles)
    st.session_state[OIDC_VIEWER_KEY] = viewer
    with st.sidebar:
        st.caption(f"Signed in as **{escape_markdown(identity.name)}**")
        _log_out_button()
    return viewer
