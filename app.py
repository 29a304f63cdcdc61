"""Duet: the Streamlit shell. Page config, login gate, navigation by role, the pages' error
boundary; nothing else."""

from pathlib import Path

import streamlit as st

from duet_core.vocabulary import ADMIN, FACILITATOR
from duet_ui.shared.transcript import text_style
from duet_ui.shell.errors import page_error_boundary
from duet_ui.shell.login import login_gate
from duet_ui.shell.services import services_or_stop

# A local picture: a Material page_icon makes the browser fetch the favicon from Google's fonts
ICON = Path(__file__).parent / "assets" / "duet-icon.png"
st.set_page_config(page_title="Duet", page_icon=str(ICON), layout="wide")

PAGES = [
    st.Page(
        "app_pages/conversation.py", title="Conversation", icon=":material/chat:", default=True
    ),
    st.Page("app_pages/history.py", title="History", icon=":material/history:"),
    st.Page("app_pages/compare.py", title="Compare", icon=":material/compare:"),
    st.Page("app_pages/leaderboard.py", title="Leaderboard", icon=":material/leaderboard:"),
    st.Page("app_pages/prompts.py", title="Prompts", icon=":material/edit_note:"),
    st.Page("app_pages/prompt_lab.py", title="Prompt Lab", icon=":material/science:"),
    st.Page("app_pages/experiments.py", title="Experiments", icon=":material/grid_view:"),
    st.Page("app_pages/admin.py", title="Admin", icon=":material/admin_panel_settings:"),
    st.Page("app_pages/account.py", title="Account", icon=":material/account_circle:"),
]
# Pages only some roles see (by url path); each page checks the role again on its own.
PAGE_ROLES = {"admin": (ADMIN,), "prompt_lab": (FACILITATOR,)}  # an admin is a facilitator too

settings = services_or_stop().settings  # a bad setting: one line on the page, no traceback
viewer = login_gate(settings, PAGES)  # nothing of the app runs before login


def allowed(page: st.Page) -> bool:
    roles = PAGE_ROLES.get(page.url_path)
    return roles is None or viewer.has_role(*roles)


text_style()  # how turn text (drawn as HTML by its one renderer) looks, on every page
with page_error_boundary():  # one message box for any failure of a page, never a traceback
    st.navigation([p for p in PAGES if allowed(p)]).run()
