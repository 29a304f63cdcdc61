"""The Admin page's parts: the accounts table, and what an admin does to one account (its
role, password, API tokens; disable, enable or remove it, each after a confirmation).

The account is picked once (``admin_account``); every part below acts on it, so "Change a
role" always shows that account's current role (``role_role`` is set to it whenever another
account is picked). The rules (no one disables or removes themselves or the last admin)
are ``AccountsFile``'s; this module only draws and asks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from duet_core.accounts import Account, AccountsFile
from duet_core.errors import DuetError
from duet_core.store.tokens import ApiTokens
from duet_core.vocabulary import ADMIN, FACILITATOR, ROLES, USER

ACCOUNT_KEY = "admin_account"  # the picked account's username
ROLE_KEY = "role_role"  # "Change a role"'s select
_ROLE_FOR = "_admin_role_for"  # whose role ROLE_KEY was last set to
_CONFIRM = "_admin_confirm"  # (action, username) awaiting a "Yes"
_FLASH = "_admin_flash"  # what the last action did, said after the rerun it needs
ROLE_HELP = (
    f"{USER}: own runs · {FACILITATOR}: own runs and the Prompt Lab · "
    f"{ADMIN}: every run, the Prompt Lab and this page"
)


def current_role(account: Account) -> str:
    """The role the "Change a role" select shows for ``account``: its highest one."""
    held = [r for r in ROLES if r in account.roles]
    return held[-1] if held else USER


def accounts_frame(accounts: Sequence[Account]) -> pd.DataFrame:
    """Username, roles and status first: they stay in view on a phone."""
    return pd.DataFrame(
        [
            (
                a.username,
                ", ".join(a.roles),
                "disabled" if a.disabled else "active",
                a.name,
                a.email,
            )
            for a in accounts
        ],
        columns=["username", "roles", "status", "name", "email"],
    )


def account_label(account: Account) -> str:
    return f"{account.username} ({current_role(account)}{', disabled' if account.disabled else ''})"


def pick_account(accounts: Sequence[Account]) -> Account | None:
    """The account select; the role select follows the account picked."""
    state = st.session_state
    by_name = {a.username: a for a in accounts}
    if not by_name:
        return None
    if state.get(ACCOUNT_KEY) not in by_name:  # first time, or that account was just removed
        state[ACCOUNT_KEY] = next(iter(by_name))
    username = st.selectbox(
        "Account",
        list(by_name),
        key=ACCOUNT_KEY,
        format_func=lambda u: account_label(by_name[u]),
        help="The account the parts below change.",
    )
    account = by_name[username]
    if state.get(_ROLE_FOR) != account.username:
        state[ROLE_KEY] = current_role(account)
        state[_ROLE_FOR] = account.username
    return account


def flash(message: str, error: bool = False) -> None:
    """Say ``message`` on the next run (the action reruns the page to redraw the table)."""
    st.session_state[_FLASH] = (message, error)


def show_flash() -> None:
    said = st.session_state.pop(_FLASH, None)
    if said and said[1]:
        st.error(said[0], icon=":material/error:")
    elif said:
        st.success(said[0], icon=":material/check_circle:")


def role_form(accounts: AccountsFile, account: Account) -> None:
    with st.form("change_role"):
        st.selectbox("Role", ROLES, key=ROLE_KEY, help=ROLE_HELP)
        if st.form_submit_button("Set role", key="role_submit"):
            new_role = st.session_state.get(ROLE_KEY) or USER
            try:
                changed = accounts.set_roles(account.username, (new_role,))
            except DuetError as e:
                st.session_state.pop(_ROLE_FOR, None)  # the select shows the role as it is
                flash(e.message, error=True)
            else:
                flash(f"{changed.username} is now {', '.join(changed.roles)}.")
            st.rerun()


def password_form(accounts: AccountsFile, account: Account) -> None:
    with st.form("reset_password", clear_on_submit=True):
        new = st.text_input("New password", type="password", key="reset_password")
        again = st.text_input("Repeat new password", type="password", key="reset_password_repeat")
        if st.form_submit_button("Set password", key="reset_password_submit"):
            try:
                accounts.set_password(account.username, new, repeat=again)
            except DuetError as e:
                st.error(e.message)
            else:
                st.success(f"The password of {account.username} is changed.")


@dataclass(frozen=True)
class Action:
    name: str  # disable | enable | remove
    button: str
    icon: str
    question: str
    done: str


def actions(account: Account) -> list[Action]:
    u = account.username
    toggle = (
        Action(
            "enable",
            "Enable",
            ":material/lock_open:",
            f"Let {u} sign in again? Their API tokens work again too.",
            f"{u} is enabled: they can sign in again.",
        )
        if account.disabled
        else Action(
            "disable",
            "Disable",
            ":material/block:",
            f"Disable {u}? They are signed out, cannot sign in, and their API tokens stop "
            "working, until enabled again.",
            f"{u} is disabled.",
        )
    )
    remove = Action(
        "remove",
        "Remove account",
        ":material/person_remove:",
        f"Remove {u} for good? Their API tokens are revoked; their runs stay.",
        f"{u} is removed.",
    )
    return [toggle, remove]


def _apply(action: Action, accounts: AccountsFile, tokens: ApiTokens, username: str, me: str):
    if action.name == "enable":
        accounts.enable_user(username)
    elif action.name == "disable":
        accounts.disable_user(username, by=me)
    else:
        accounts.remove_user(username, by=me)
        tokens.revoke_all(username)


def access_panel(accounts: AccountsFile, tokens: ApiTokens, account: Account, me: str) -> None:
    """Disable / enable / remove ``account``, each asked again before it is done."""
    state = st.session_state
    u = account.username
    if account.disabled:
        st.write(f"**{u}** is disabled: they cannot sign in nor use their API tokens.")
    else:
        st.write(f"**{u}** can sign in.")
    if u == me:
        st.caption("This is your account: another administrator can disable or remove it.")
        return
    by_name = {a.name: a for a in actions(account)}
    pending = state.get(_CONFIRM)
    if pending and pending[1] == u and pending[0] in by_name:
        action = by_name[pending[0]]
        st.warning(action.question, icon=":material/warning:")
        yes, no = st.columns(2)
        if yes.button(
            f"Yes, {action.button.lower()}",
            key="admin_confirm_yes",
            type="primary",
            icon=action.icon,
        ):
            state.pop(_CONFIRM, None)
            try:
                _apply(action, accounts, tokens, u, me)
            except DuetError as e:
                st.error(e.message)
            else:
                flash(action.done)
                st.rerun()
        if no.button("Cancel", key="admin_confirm_no"):
            state.pop(_CONFIRM, None)
            st.rerun()
        return
    cols = st.columns(len(by_name))
    for col, action in zip(cols, by_name.values(), strict=True):
        if col.button(action.button, key=f"admin_{action.name}", icon=action.icon):
            state[_CONFIRM] = (action.name, u)
            st.rerun()
