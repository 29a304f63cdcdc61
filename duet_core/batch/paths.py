"""Run-config field paths as an experiment's ``vary`` writes them: ``max_turns``,
``bots[1].model``, ``bots[0].prompt.version`` (``bots.1.model`` is read the same). Parsed,
checked against ``RunConfig``'s fields, and set in plain data.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Annotated, Any

from pydantic import BaseModel

from duet_core.errors import ConfigError
from duet_core.models import RunConfig

_SEGMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)")


def parse_path(path: str) -> list[str | int]:
    """``bots[1].model`` (or ``bots.1.model``) -> ``["bots", 1, "model"]``; ConfigError for
    anything else."""
    parts: list[str | int] = []
    for piece in path.strip().split("."):
        if piece.isdigit() and parts:
            parts.append(int(piece))
            continue
        m = _SEGMENT.fullmatch(piece)
        if m is None:
            raise ConfigError(f"vary: '{path}' is not a field path (write e.g. bots[1].model).")
        parts.append(m.group(1))
        parts.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
    return parts


def path_text(parts: list[str | int]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


def _unwrap(annotation: Any) -> list[Any]:
    """The plain types an annotation allows (Annotated and Optional taken apart)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for a in typing.get_args(annotation) for t in _unwrap(a)]
    return [annotation]


def check_path(path: str) -> list[str | int]:
    """The path's parts when it names a field of ``RunConfig`` (through the bots list and
    nested settings); ConfigError naming the first part that does not exist."""
    parts = parse_path(path)
    current: list[Any] = [RunConfig]
    for i, part in enumerate(parts):
        here = path_text(parts[:i]) or "the run config"
        models = [t for t in current if isinstance(t, type) and issubclass(t, BaseModel)]
        lists = [t for t in current if typing.get_origin(t) is list]
        if isinstance(part, int):
            if not lists:
                raise ConfigError(f"vary: '{path}': {here} is not a list.")
            if path_text(parts[:i]) == "bots" and part not in (0, 1):
                raise ConfigError(f"vary: '{path}': there are two bots, bots[0] and bots[1].")
            current = [t for lst in lists for t in _unwrap(typing.get_args(lst)[0])]
            continue
        if not models:
            raise ConfigError(f"vary: '{path}': {here} has no fields to vary.")
        fields = {name: f for m in models for name, f in m.model_fields.items()}
        if part not in fields:
            known = ", ".join(sorted(fields))
            raise ConfigError(f"vary: unknown field '{path}': {here} has {known}.")
        current = _unwrap(fields[part].annotation)
    if any(typing.get_origin(t) is list for t in current) and parts[-1] == "bots":
        raise ConfigError(f"vary: '{path}': vary one bot's settings, e.g. bots[1].model.")
    return parts


def set_path(data: dict[str, Any], parts: list[str | int], value: Any) -> None:
    """Set ``value`` at ``parts`` in plain data, making the missing dicts on the way."""
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        nxt = parts[i + 1]
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                raise ConfigError(
                    f"vary: '{path_text(parts)}': the run has no {path_text(parts[: i + 1])}."
                )
            if node[part] is None:
                node[part] = {}
            node = node[part]
        else:
            if not isinstance(node, dict):
                raise ConfigError(
                    f"vary: '{path_text(parts)}': {path_text(parts[:i])} is not a mapping."
                )
            if node.get(part) is None:
                node[part] = [] if isinstance(nxt, int) else {}
            node = node[part]
    last = parts[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            raise ConfigError(f"vary: '{path_text(parts)}': the run has no such item.")
        node[last] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise ConfigError(f"vary: '{path_text(parts)}': {path_text(parts[:-1])} is not a mapping.")
