"""The Prompts page's message editor: per message a role select, a multi-line text area
(as tall as its text) and a Remove button; "Add a message" below. The draft itself is in
``duet_ui.prompts.draft``."""

from __future__ import annotations

import streamlit as st

from duet_core.templates import ROLES
from duet_ui.prompts import draft

ROLE_HELP = (
    "system: who the bot is and how it answers · human: what the other side says · "
    "ai: an example answer by the bot"
)


def message_editor() -> None:
    state = st.session_state
    for i in range(draft.count(state)):
        with st.container(border=True, key=f"prompts_message_{i}"):
            role, remove = st.columns([3, 1], vertical_alignment="bottom")
            role.selectbox(f"Message {i + 1}", ROLES, key=draft.role_key(i), help=ROLE_HELP)
            remove.button(
                "Remove",
                key=draft.remove_key(i),
                icon=":material/delete:",
                on_click=draft.remove,
                args=(state, i),
                help="Remove this message",
                width="stretch",
            )
            st.text_area(
                f"Message {i + 1} text",
                key=draft.content_key(i),
                height="content",
                label_visibility="collapsed",
                placeholder="The message; {{ name }} is filled in when it is used.",
            )
    st.button(
        "Add a message",
        key="prompts_add",
        icon=":material/add:",
        on_click=draft.add,
        args=(state,),
    )
