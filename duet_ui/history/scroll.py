"""Bring a part of the page into view once: the run just opened from the History list."""

from __future__ import annotations

import streamlit as st

# Scrolls the element that holds it into view when it is drawn with a token it has not
# scrolled for yet (a rerun with the same token, such as a row ticked for Compare, leaves
# the page where the person has it).
_JS = """
export default function (component) {
  const token = component.data && component.data.token;
  const holder = component.parentElement;
  if (!token || !holder || window.__duetScrolledFor === token) return;
  window.__duetScrolledFor = token;
  holder.style.scrollMarginTop = "4.5rem";  // clear of the app's header bar
  requestAnimationFrame(() => {
    // room below it to come up to the top even while what follows is still short (results
    // that are streaming): the page is made at least that tall
    const main = holder.closest('[data-testid="stMain"]');
    const block = holder.closest('[data-testid="stMainBlockContainer"]');
    if (main && block) {
      const top = holder.getBoundingClientRect().top - block.getBoundingClientRect().top;
      block.style.minHeight = `${Math.ceil(top + main.clientHeight)}px`;
    }
    holder.scrollIntoView({ block: "start", behavior: "smooth" });
  });
}
"""

_component = st.components.v2.component("duet_scroll_here", js=_JS, isolate_styles=False)


def scroll_here(token: str, key: str) -> None:
    """Scroll to this place in the page the first time it is drawn with ``token``."""
    _component(data={"token": token}, key=key)
