"""The Prompts page's table of messages (role + content) to template messages and back. Pure."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from duet_core.errors import ConfigError
from duet_core.templates import ROLES

NEW_TEMPLATE = [{"role": "system", "content": "You are {{ my_name }}. Keep replies short."}]


def to_frame(messages: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    rows = [{"role": m["role"], "content": m["content"]} for m in messages]
    return pd.DataFrame(rows, columns=["role", "content"])


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


def from_frame(frame: pd.DataFrame) -> list[dict[str, str]]:
    """The edited table as messages; fully blank rows are dropped. ConfigError names the
    first row without a role."""
    messages: list[dict[str, str]] = []
    for n, row in enumerate(frame.to_dict("records"), start=1):
        role, content = row.get("role"), row.get("content")
        if _blank(role) and _blank(content):
            continue
        if role not in ROLES:
            raise ConfigError(f"Row {n}: pick a role (system, human or ai).")
        messages.append({"role": str(role), "content": "" if _blank(content) else str(content)})
    if not messages:
        raise ConfigError("Add at least one message.")
    return messages
