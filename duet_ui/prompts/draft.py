"""The messages being edited on the Prompts page: one role select and one multi-line text
area per message, with add and remove. The draft lives in the widgets' session state
(``prompts_role_{i}``, ``prompts_content_{i}``, ``_prompts_count`` of them) and is started
again from a template's version whenever another template or version is opened.

``start``, ``add``, ``remove`` and ``messages`` take the state mapping and call no Streamlit,
so they are tested alone; ``add`` and ``remove`` are the buttons' callbacks (they run
before the script, when widget state may still be written).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

from duet_core.errors import ConfigError
from duet_core.templates import ROLES

NEW_TEMPLATE = [
    {"role": "system", "content": "You are {{ my_name }}. Keep replies short."},
]
COUNT = "_prompts_count"  # how many messages the draft has
FOR = "_prompts_draft_for"  # the (template, version) the draft started from
NEW_ROLE = "human"


def role_key(i: int) -> str:
    return f"prompts_role_{i}"


def content_key(i: int) -> str:
    return f"prompts_content_{i}"


def remove_key(i: int) -> str:
    return f"prompts_remove_{i}"


def count(state: Mapping[str, Any]) -> int:
    return int(state.get(COUNT) or 0)


def _clear(state: MutableMapping[str, Any]) -> None:
    for i in range(count(state)):
        state.pop(role_key(i), None)
        state.pop(content_key(i), None)


def start(
    state: MutableMapping[str, Any], ident: tuple[str, int], base: Iterable[Mapping[str, Any]]
) -> None:
    """Start the draft from ``base`` when it is not already ``ident``'s (another template or
    version opened), or its widgets' state is gone (the page was left: Streamlit drops the
    state of widgets a run does not draw)."""
    n = count(state)
    intact = all(content_key(i) in state and role_key(i) in state for i in range(n))
    if state.get(FOR) == ident and intact:
        return
    _clear(state)
    messages = list(base)
    for i, m in enumerate(messages):
        state[role_key(i)] = m["role"] if m["role"] in ROLES else NEW_ROLE
        state[content_key(i)] = str(m["content"])
    state[COUNT] = len(messages)
    state[FOR] = ident


def add(state: MutableMapping[str, Any]) -> None:
    """One more message at the end: a human one after a system or ai message, else ai."""
    n = count(state)
    last = state.get(role_key(n - 1)) if n else None
    state[role_key(n)] = "ai" if last == "human" else NEW_ROLE
    state[content_key(n)] = ""
    state[COUNT] = n + 1


def remove(state: MutableMapping[str, Any], i: int) -> None:
    """Remove message ``i``; the ones after it move up."""
    n = count(state)
    if not 0 <= i < n:
        return
    for j in range(i, n - 1):
        state[role_key(j)] = state.get(role_key(j + 1))
        state[content_key(j)] = state.get(content_key(j + 1))
    state.pop(role_key(n - 1), None)
    state.pop(content_key(n - 1), None)
    state[COUNT] = n - 1


def messages(state: Mapping[str, Any]) -> list[dict[str, str]]:
    """The draft as template messages. ConfigError when there is none."""
    out = [
        {
            "role": str(state.get(role_key(i)) or NEW_ROLE),
            "content": str(state.get(content_key(i)) or ""),
        }
        for i in range(count(state))
    ]
    if not out:
        raise ConfigError("Add at least one message.")
    return out
