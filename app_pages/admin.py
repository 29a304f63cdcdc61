"""Admin: the accounts; add a user, reset a password. Admins only."""

import pandas as pd
import streamlit as st

from duet_core.errors import DuetError
from duet_ui.auth import ADMIN, PASSWORD_MIN_LENGTH, ROLES, USER, accounts_for
from duet_ui.services import current_viewer, services

viewer = current_viewer()
if not viewer.is_admin:
    st.error("Access denied: the Admin page is for administrators.")
    st.stop()

settings = services().settings
st.title("🔑 Admin")
if settings.dev_mode:
    st.info("Development mode: there is no login, so accounts are not used.")
    st.stop()

accounts = accounts_for(settings)
accounts.reload_if_changed()
add, reset = st.columns(2)
with add, st.form("add_user", clear_on_submit=False):
    st.subheader("Add a user")
    username = st.text_input("Username", key="new_username", help="e.g. alice or j.doe")
    name = st.text_input("Name", key="new_name")
    email = st.text_input("Email (optional)", key="new_email")
    role = st.selectbox("Role", ROLES, key="new_role", help=f"{ADMIN}: sees every run")
    password = st.text_input(
        "Password", type="password", key="new_password", help=f"{PASSWORD_MIN_LENGTH}+ characters"
    )
    repeat = st.text_input("Repeat password", type="password", key="new_password_repeat")
    if st.form_submit_button("Add user", key="add_user_submit"):
        try:
            account = accounts.add_user(
                username, password, name=name, email=email, roles=(role or USER,), repeat=repeat
            )
        except DuetError as e:
            st.error(str(e))
        else:
            st.success(f"Added {account.username} ({', '.join(account.roles)}).")

with reset, st.form("reset_password"):
    st.subheader("Reset a password")
    who = st.selectbox("User", [a.username for a in accounts.accounts()], key="reset_username")
    new = st.text_input("New password", type="password", key="reset_password")
    again = st.text_input("Repeat new password", type="password", key="reset_password_repeat")
    if st.form_submit_button("Set password", key="reset_password_submit"):
        try:
            accounts.set_password(who or "", new, repeat=again)
        except DuetError as e:
            st.error(str(e))
        else:
            st.success(f"The password of {who} is changed.")

st.subheader("Accounts")
st.dataframe(
    pd.DataFrame(
        [(a.username, a.name, a.email, ", ".join(a.roles)) for a in accounts.accounts()],
        columns=["username", "name", "email", "roles"],
    ),
    hide_index=True,
    key="admin_accounts",
)
