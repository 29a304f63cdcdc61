"""What a person reads of turn text that the page drew as HTML (``transcript.render_markdown``)."""

from __future__ import annotations

import html
import re

_TAG = re.compile(r"<[^>]+>")


def as_text(body: str) -> str:
    """The text of an ``st.html`` body: tags dropped, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(_TAG.sub(" ", body)).split())


def turn_texts(block) -> list[str]:
    """The texts of the turn-text elements (``st.html``) inside an AppTest block, in order."""
    return [as_text(h.value) for h in block.get("html") if "duet-text" in h.value]
