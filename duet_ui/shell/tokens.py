"""An account's personal API tokens on a page: make one (its secret shown once), list them,
revoke one. The Account page draws it for the person signed in; the Admin page for the
account an admin picked. Both go through ``ApiTokens``, as ``/api/tokens`` does.

Widget keys are ``{prefix}token_name``, ``{prefix}make_token_submit``, ``{prefix}tokens_table``,
``{prefix}revoke_id`` and ``{prefix}revoke_token_submit``.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from duet_core.errors import DuetError
from duet_core.store.tokens import ApiToken, ApiTokens

WHEN = "%Y-%m-%d %H:%M UTC"


def tokens_frame(tokens: list[ApiToken]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "id": t.id,
                "name": t.name,
                "made": t.created_at.strftime(WHEN),
                "last used": t.last_used_at.strftime(WHEN) if t.last_used_at else "never",
            }
            for t in tokens
        ],
        columns=["id", "name", "made", "last used"],
    )


def token_panel(tokens: ApiTokens, username: str, prefix: str = "", whose: str = "You") -> None:
    """``username``'s tokens: a form to make one, the list, a form to revoke one. ``whose``
    starts the sentence said when there are none ("You", "alice")."""
    with st.form(f"{prefix}make_token", clear_on_submit=True):
        name = st.text_input(
            "What is it for?", key=f"{prefix}token_name", help="e.g. notebook, pipeline"
        )
        if st.form_submit_button(
            "Make a token", key=f"{prefix}make_token_submit", icon=":material/key:"
        ):
            try:
                token, secret = tokens.create(username, name)
            except DuetError as e:
                st.error(e.message)
            else:
                st.success(
                    f"Token {token.id} made for {username}. Copy it now: it is not shown again."
                )
                st.code(secret, language=None)

    found = tokens.list(username)
    if not found:
        have = "have" if whose == "You" else "has"
        st.caption(f"{whose} {have} no API tokens.")
        return
    st.dataframe(tokens_frame(found), hide_index=True, key=f"{prefix}tokens_table")
    with st.form(f"{prefix}revoke_token"):
        labels = {t.id: f"{t.id} · {t.name}" if t.name else t.id for t in found}
        picked = st.selectbox(
            "Token", list(labels), format_func=labels.get, key=f"{prefix}revoke_id"
        )
        if (
            st.form_submit_button(
                "Revoke", key=f"{prefix}revoke_token_submit", icon=":material/key_off:"
            )
            and picked
        ):
            try:
                tokens.revoke(picked, username)
            except DuetError as e:
                st.error(e.message)
            else:
                st.success(f"Token {picked} revoked: it no longer works.")
                st.rerun()
