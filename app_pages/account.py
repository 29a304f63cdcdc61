"""Account: who you are, and your personal API tokens (make one, shown once; revoke one)."""

import pandas as pd
import streamlit as st

from duet_core.errors import DuetError
from duet_core.store.tokens import ApiTokens
from duet_ui.shell.services import current_viewer, services

viewer = current_viewer()
svc = services()
st.title(":material/account_circle: Account", anchor=False)
st.write(f"Signed in as **{viewer.username}** ({', '.join(viewer.roles)}).")

st.subheader("API tokens")
st.markdown(  # not a caption: its link and code would fade below AA contrast
    "A token lets a program use Duet's HTTP API as you (`Authorization: Bearer <token>`); "
    "see the [API docs](/api/docs). It is shown once, when it is made: only a hash is kept."
)
if svc.settings.dev_mode:
    st.info("Development mode: the API needs no token.")
tokens = ApiTokens(svc.store)
with st.form("make_token", clear_on_submit=True):
    name = st.text_input("What is it for?", key="token_name", help="e.g. notebook, pipeline")
    if st.form_submit_button("Make a token", key="make_token_submit"):
        try:
            token, secret = tokens.create(viewer.username, name)
        except DuetError as e:
            st.error(str(e))
        else:
            st.success(f"Token {token.id} made. Copy it now: it is not shown again.")
            st.code(secret, language=None)

mine = tokens.list(viewer.username)
if not mine:
    st.caption("You have no API tokens.")
else:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "id": t.id,
                    "name": t.name,
                    "made": t.created_at.strftime("%Y-%m-%d %H:%M UTC"),
                    "last used": t.last_used_at.strftime("%Y-%m-%d %H:%M UTC")
                    if t.last_used_at
                    else "never",
                }
                for t in mine
            ]
        ),
        hide_index=True,
        key="tokens_table",
    )
    with st.form("revoke_token"):
        labels = {t.id: f"{t.id} · {t.name}" if t.name else t.id for t in mine}
        picked = st.selectbox("Token", list(labels), format_func=labels.get, key="revoke_id")
        if st.form_submit_button("Revoke", key="revoke_token_submit") and picked:
            try:
                tokens.revoke(picked, viewer.username)
            except DuetError as e:
                st.error(str(e))
            else:
                st.success(f"Token {picked} revoked: it no longer works.")
                st.rerun()
