"""Prompt templates: ``{{ name }}`` placeholders in typed messages (docs/design.md, "Prompt
library").

Why a small parser and not Jinja2 (even sandboxed): the contract is one thing only, a
placeholder ``{{ name }}`` replaced by a value. Jinja2 is a programming language (loops,
filters, attribute access, ``range(10**9)``); a sandbox stops attribute escapes but not a
template that burns CPU, and its missing-value and non-string rules would need overriding
to match the contract. The parser below has no expressions at all, so no template can run
code or loop, rendering is linear in the text, and the rules read off the code:

- a placeholder is ``{{``, optional spaces, an identifier (a letter or ``_``, then letters,
  digits or ``_``), optional spaces, ``}}``;
- any other ``{{`` is malformed: ``malformed_placeholders`` names it, saving a version
  refuses it, and rendering leaves it as it is (rendering never raises);
- a missing variable renders as ``""`` and is reported by ``missing_variables``;
- a string value goes in as it is; anything else as ``json.dumps(value)`` (non-ASCII kept).

Roles map to the provider's in one place, ``PROVIDER_ROLE``: ``system`` is the system
prompt, ``human`` is ``user``, ``ai`` is ``assistant``. This module imports nothing of Duet.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
ROLES = ("system", "human", "ai")
PROVIDER_ROLE = {"system": "system", "human": "user", "ai": "assistant"}
BUILTIN_VARIABLES = ("topic", "my_name", "partner_name", "turn", "turns_left")
_SNIPPET = 30  # characters of a malformed placeholder quoted in a message


def _pieces(text: str) -> Iterator[tuple[str, str | None]]:
    """The text cut into (literal, None) and (raw placeholder, name) pieces, in order.

    A ``{{`` that does not start a well-formed placeholder stays literal.
    """
    start = 0
    pos = text.find("{{")
    while pos != -1:
        m = PLACEHOLDER.match(text, pos)
        if m is None:
            pos = text.find("{{", pos + 1)
            continue
        if m.start() > start:
            yield text[start : m.start()], None
        yield m.group(0), m.group(1)
        start = m.end()
        pos = text.find("{{", start)
    if start < len(text):
        yield text[start:], None


def placeholder_names(text: str) -> list[str]:
    """The variable names ``text`` uses, in order of first use."""
    return list(dict.fromkeys(name for _, name in _pieces(text) if name is not None))


def malformed_placeholders(text: str) -> list[str]:
    """Each ``{{`` that does not open a well-formed placeholder, quoted up to its ``}}``."""
    found: list[str] = []
    for piece, name in _pieces(text):
        if name is not None:
            continue
        pos = piece.find("{{")
        while pos != -1:
            end = piece.find("}}", pos + 2)
            snippet = piece[pos : end + 2] if end != -1 else piece[pos:]
            snippet = snippet.splitlines()[0] if snippet.strip() else snippet
            if len(snippet) > _SNIPPET:
                snippet = snippet[:_SNIPPET] + "…"
            found.append(snippet)
            pos = piece.find("{{", (end + 2) if end != -1 else len(piece))
    return found


def check_placeholders(contents: Iterable[str]) -> str:
    """A message naming every malformed placeholder in ``contents``; ``""`` when all are fine."""
    bad: list[str] = []
    for text in contents:
        bad += malformed_placeholders(text)
    if not bad:
        return ""
    quoted = ", ".join(json.dumps(b, ensure_ascii=False) for b in dict.fromkeys(bad))
    return (
        f"malformed placeholder{'s' if len(bad) > 1 else ''} {quoted}: write {{{{ name }}}}, "
        "a name of letters, digits and _ that does not start with a digit"
    )


def value_text(value: Any) -> str:
    """How a variable's value goes into the text: a string as it is, else ``json.dumps``."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):  # a circular or unsortable value
        return str(value)


def render_text(text: str, variables: Mapping[str, Any]) -> str:
    """``text`` with each placeholder replaced by its variable ("" when missing)."""
    if "{{" not in text:
        return text
    out: list[str] = []
    for piece, name in _pieces(text):
        if name is None:
            out.append(piece)
        elif name in variables:
            out.append(value_text(variables[name]))
    return "".join(out)


def _role_content(message: Any) -> tuple[str, str]:
    if isinstance(message, Mapping):
        return str(message.get("role", "")), str(message.get("content", ""))
    return str(message.role), str(message.content)


def render_messages(
    messages: Sequence[Mapping[str, Any] | Any], variables: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    """New message dicts with every placeholder filled; the input is never changed.

    ``messages`` are dicts (other keys are copied) or objects with ``role`` and ``content``
    (a ``PromptMessage``). Roles stay the template's own (``system``/``human``/``ai``);
    ``PROVIDER_ROLE`` maps them.
    """
    variables = variables if variables is not None else {}
    out: list[dict[str, Any]] = []
    for message in messages:
        role, content = _role_content(message)
        base = dict(message) if isinstance(message, Mapping) else {"role": role}
        base["content"] = render_text(content, variables)
        out.append(base)
    return out


def template_variables(messages: Sequence[Mapping[str, Any] | Any]) -> list[str]:
    """Every variable name the messages use, in order of first use."""
    names: dict[str, None] = {}
    for message in messages:
        names.update(dict.fromkeys(placeholder_names(_role_content(message)[1])))
    return list(names)


def missing_variables(
    messages: Sequence[Mapping[str, Any] | Any], variables: Mapping[str, Any] | None
) -> list[str]:
    """The names the messages use that ``variables`` has no value for (they render as "")."""
    variables = variables or {}
    return [n for n in template_variables(messages) if n not in variables]
