"""A run's topic as a heading: one line, cut with "…", the whole text on demand (the heading's
help icon: hover, or a tap on a phone). A long topic no longer pushes the transcript off the
first screen (issue 21, item 10)."""

from __future__ import annotations

import streamlit as st

from duet_ui.shared.transcript import escape_markdown

TOPIC_HEADING = 90  # characters at most; CSS then keeps the heading to one line at any width
KEY_PREFIX = "topic_heading"
# Static CSS (no user text): the heading's text on one line with an ellipsis, its help icon
# (the whole topic) kept in view at the end of the line.
STYLE = f"""<style>
[class*="st-key-{KEY_PREFIX}"] h3 {{ display: flex; align-items: center; min-width: 0; }}
[class*="st-key-{KEY_PREFIX}"] h3 > span[data-heading-text] {{
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; min-width: 0;
}}
</style>"""


def short_topic(topic: str, width: int = TOPIC_HEADING) -> str:
    """The topic on one line, cut at a word with "…" past ``width`` characters."""
    text = " ".join(topic.split())
    if len(text) <= width:
        return text
    cut = text[: width - 1].rsplit(" ", 1)[0] if " " in text[: width - 1] else text[: width - 1]
    return cut.rstrip(" ,;:.") + "…"


def topic_heading(topic: str, key: str, divider: bool = False) -> None:
    """``topic`` as a one-line subheader (in a container keyed ``topic_heading_<key>``); when
    the line cannot hold it all, the whole topic is the heading's help text."""
    st.html(STYLE)
    short = short_topic(topic)
    whole = " ".join(topic.split())
    with st.container(key=f"{KEY_PREFIX}_{key}", width="stretch"):
        st.subheader(
            escape_markdown(short),
            anchor=False,
            divider="gray" if divider else False,
            help=escape_markdown(whole) if len(whole) > 40 else None,
        )
