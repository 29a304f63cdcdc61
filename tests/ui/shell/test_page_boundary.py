"""app.py runs every page inside one error boundary: a page that fails in a way nobody
expected shows one message box and no traceback, and the app around it (navigation) stays."""

from __future__ import annotations

import pytest

PAGES = ["conversation", "history", "compare", "prompts", "prompt_lab", "admin"]


def boom(*args, **kwargs):
    raise RuntimeError("internal detail: SELECT * FROM runs WHERE owner = 'alice'")


@pytest.mark.parametrize("page", PAGES)
def test_an_unexpected_error_on_a_page_is_one_message(page, env, logged_in, monkeypatch):
    at = logged_in("admin", page)  # an admin may open every page
    assert not at.exception and not at.error, [e.value for e in at.error]
    # every page asks for its viewer first (current_viewer, or require_role, which calls it)
    monkeypatch.setattr("duet_ui.shell.services.current_viewer", boom)
    at.run()
    assert not at.exception
    boxes = [e.value for e in at.error]
    assert len(boxes) == 1, boxes
    assert "This is a bug in Duet: please report it" in boxes[0]
    assert "SELECT" not in boxes[0] and "RuntimeError" not in boxes[0]
