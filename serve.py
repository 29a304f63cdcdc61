"""Duet served by ``st.App``: the app (``app.py``) plus the route that streams the turn being
written to the browser on its own connection (``duet_ui.conversation.feed``). ``make run`` starts
this file; ``streamlit run app.py`` still works, drawing every token through the page."""

import streamlit as st

from duet_ui.conversation import feed as text_feed

app = st.App("app.py", routes=text_feed.routes())
