"""A variant's word-level diff against the original turn, drawn as Streamlit markdown.

Model text is untrusted: each word is redacted and escaped (``escape_markdown``) before it is
wrapped in a colour, so nothing in it can become markup, a link or an image; no HTML.
"""

from __future__ import annotations

import re

import streamlit as st

from duet_core.lab.diff import diff_stats, word_diff
from duet_core.redact import redact
from duet_ui.shared.transcript import escape_markdown

_PIECE = re.compile(r"(\S+)(\s*)|(\s+)")
STYLE = {"insert": ":green-background[{}]", "delete": ":red-background[~~{}~~]"}


def _space(ws: str) -> str:
    if "\n\n" in ws:
        return "\n\n"
    if "\n" in ws:
        return "  \n"
    return " " if ws else ""


def diff_markdown(original: str, variant: str) -> str:
    """The diff as markdown: inserted words on green, deleted words struck through on red."""
    out: list[str] = []
    for op, text in word_diff(redact(original or ""), redact(variant or "")):
        for m in _PIECE.finditer(text):
            word, after = m.group(1), m.group(2) if m.group(1) else m.group(3)
            if word:
                safe = escape_markdown(word)
                out.append(STYLE[op].format(safe) if op in STYLE else safe)
            out.append(_space(after or ""))
    return "".join(out).strip()


def show_diff(original: str, variant: str, key: str) -> None:
    """An expander whose label says how much changed, with the diff inside."""
    stats = diff_stats(original or "", variant or "")
    with (
        st.container(key=key),
        st.expander(
            f"Diff against the original: {stats.summary()}",
            icon=":material/difference:",
            expanded=False,
        ),
    ):
        if stats.changed:
            st.markdown(diff_markdown(original, variant))
        else:
            st.caption("The variant says exactly what the original said.")
