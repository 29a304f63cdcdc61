"""Duet: the Streamlit shell. Page config, login gate, navigation; nothing else."""

import streamlit as st

from duet_ui.services import current_viewer, services

st.set_page_config(page_title="Duet", page_icon="🎭", layout="wide")

services()
viewer = current_viewer()

pages = [
    st.Page("pages/conversation.py", title="Conversation", icon="💬", default=True),
    st.Page("pages/history.py", title="History", icon="📜"),
]
if viewer.is_admin:
    pages.append(st.Page("pages/admin.py", title="Admin", icon="🔑"))
st.navigation(pages).run()
