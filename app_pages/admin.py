"""Admin: the accounts; add a user; for one account, change its role, reset its password,
make or revoke its API tokens, disable, enable or remove it. Admins only."""

import streamlit as st

from duet_core.accounts import PASSWORD_MIN_LENGTH
from duet_core.errors import DuetError
from duet_core.store.tokens import ApiTokens
from duet_core.vocabulary import ADMIN, ROLES, USER
from duet_ui.shell import admin
from duet_ui.shell.login import accounts_for
from duet_ui.shell.services import require_role, services
from duet_ui.shell.tokens import token_panel

viewer = require_role(ADMIN, page="the Admin page")
svc = services()
st.title(":material/admin_panel_settings: Admin")
if svc.settings.dev_mode:
    st.info(
        "Development mode: there is no login, so accounts are not used.", icon=":material/info:"
    )
    st.stop()

accounts = accounts_for(svc.settings)
accounts.reload_if_changed()
tokens = ApiTokens(svc.store)

st.subheader("Accounts")
st.dataframe(admin.accounts_frame(accounts.accounts()), hide_index=True, key="admin_accounts")

with st.expander("Add a user", icon=":material/person_add:"), st.form("add_user"):
    username = st.text_input("Username", key="new_username", help="e.g. alice or j.doe")
    name = st.text_input("Name", key="new_name")
    email = st.text_input("Email (optional)", key="new_email")
    role = st.selectbox("Role", ROLES, key="new_role", help=admin.ROLE_HELP)
    password = st.text_input(
        "Password", type="password", key="new_password", help=f"{PASSWORD_MIN_LENGTH}+ characters"
    )
    repeat = st.text_input("Repeat password", type="password", key="new_password_repeat")
    if st.form_submit_button("Add user", key="add_user_submit", icon=":material/person_add:"):
        try:
            account = accounts.add_user(
                username, password, name=name, email=email, roles=(role or USER,), repeat=repeat
            )
        except DuetError as e:
            st.error(e.message)
        else:
            admin.flash(f"Added {account.username} ({', '.join(account.roles)}).")
            st.rerun()

st.subheader("Manage an account")
admin.show_flash()
account = admin.pick_account(accounts.accounts())
if account is not None:
    role_tab, password_tab, tokens_tab, access_tab = st.tabs(
        [
            ":material/badge: Change a role",
            ":material/password: Reset the password",
            ":material/key: API tokens",
            ":material/manage_accounts: Disable or remove",
        ],
        key="admin_tab",  # the open tab is kept across reruns
        on_change="rerun",
    )
    with role_tab:
        admin.role_form(accounts, account)
    with password_tab:
        admin.password_form(accounts, account)
    with tokens_tab:
        st.caption(
            f"Tokens let a program use the HTTP API as {account.username}. A new one is shown "
            "once, here: hand it over safely."
        )
        if account.disabled:
            st.info(
                f"{account.username} is disabled: their tokens do not work until enabled.",
                icon=":material/block:",
            )
        token_panel(tokens, account.username, prefix="admin_", whose=account.username)
    with access_tab:
        admin.access_panel(accounts, tokens, account, viewer.username)
