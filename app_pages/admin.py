"""Admin: the accounts; add a user, reset a password, change a role. Admins only."""

import pandas as pd
import streamlit as st

from duet_core.accounts import ADMIN, FACILITATOR, PASSWORD_MIN_LENGTH, ROLES, USER
from duet_core.errors import DuetError
from duet_ui.shell.login import accounts_for
from duet_ui.shell.services import require_role, services

require_role(ADMIN, page="the Admin page")
settings = services().settings
st.title("🔑 Admin")
if settings.dev_mode:
    st.info("Development mode: there is no login, so accounts are not used.")
    st.stop()

ROLE_HELP = (
    f"{USER}: own runs · {FACILITATOR}: own runs and the Prompt Lab · "
    f"{ADMIN}: every run, the Prompt Lab and this page"
)
accounts = accounts_for(settings)
accounts.reload_if_changed()
usernames = [a.username for a in accounts.accounts()]
add, reset, role_box = st.columns(3)
with add, st.form("add_user", clear_on_submit=False):
    st.subheader("Add a user")
    username = st.text_input("Username", key="new_username", help="e.g. alice or j.doe")
    name = st.text_input("Name", key="new_name")
    email = st.text_input("Email (optional)", key="new_email")
    role = st.selectbox("Role", ROLES, key="new_role", help=ROLE_HELP)
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
    who = st.selectbox("User", usernames, key="reset_username")
    new = st.text_input("New password", type="password", key="reset_password")
    again = st.text_input("Repeat new password", type="password", key="reset_password_repeat")
    if st.form_submit_button("Set password", key="reset_password_submit"):
        try:
            accounts.set_password(who or "", new, repeat=again)
        except DuetError as e:
            st.error(str(e))
        else:
            st.success(f"The password of {who} is changed.")

with role_box, st.form("change_role"):
    st.subheader("Change a role")
    whose = st.selectbox("User", usernames, key="role_username")
    new_role = st.selectbox("Role", ROLES, key="role_role", help=ROLE_HELP)
    if st.form_submit_button("Set role", key="role_submit"):
        try:
            account = accounts.set_roles(whose or "", (new_role or USER,))
        except DuetError as e:
            st.error(str(e))
        else:
            st.success(f"{account.username} is now {', '.join(account.roles)}.")

st.subheader("Accounts")
st.dataframe(
    pd.DataFrame(
        [(a.username, a.name, a.email, ", ".join(a.roles)) for a in accounts.accounts()],
        columns=["username", "name", "email", "roles"],
    ),
    hide_index=True,
    key="admin_accounts",
)
