"""Duet: the Streamlit shell. Page config, login gate, navigation; nothing else."""

import streamlit as st

from duet_ui.auth import login_gate
from duet_ui.services import services

st.set_page_config(page_title="Duet", page_icon="🎭", layout="wide")

PAGES = [
    st.Page("app_pages/conversation.py", title="Conversation", icon="💬", default=True),
    st.Page("app_pages/history.py", title="History", icon="📜"),
    st.Page("app_pages/admin.py", title="Admin", icon="🔑"),
]
ADMIN_ONLY = {"admin"}

viewer = login_gate(services().settings, PAGES)  # nothing of the app runs before login
st.navigation([p for p in PAGES if viewer.is_admin or p.url_path not in ADMIN_ONLY]).run()
