"""API keys never leave the process: every text stored, exported, logged or shown is scrubbed.

``register`` adds a secret (a key from the environment or secrets file, or one a person pasted
into a page); ``redact`` replaces every registered secret, and anything shaped like a provider
key or a bearer token, with ``[redacted key]``. The registry is process-wide and thread-safe.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

MARK = "[redacted key]"
MIN_SECRET = 8  # shorter strings would redact ordinary words
_SHAPES = (
    r"\bsk-ant-[A-Za-z0-9_\-]{8,}",
    r"\bsk-[A-Za-z0-9_\-]{8,}",
    r"(?<=Bearer )[A-Za-z0-9._~+/\-]{16,}=*",
)
_lock = threading.Lock()
_secrets: set[str] = set()
_pattern = re.compile("|".join(_SHAPES))


def _rebuild() -> None:
    global _pattern
    known = sorted(_secrets, key=len, reverse=True)  # longest first: no partial leftovers
    _pattern = re.compile("|".join([*(re.escape(s) for s in known), *_SHAPES]))


def register(*secrets: str | None) -> None:
    """Remember secrets to redact (blank, None and very short values are ignored)."""
    new = {s.strip() for s in secrets if s and len(s.strip()) >= MIN_SECRET}
    with _lock:
        if new - _secrets:
            _secrets.update(new)
            _rebuild()


def register_keys(keys: Iterable[str] | dict[str, str] | None) -> None:
    """Register pasted keys (a mapping's values, or the strings themselves)."""
    if keys is None:
        return
    register(*(keys.values() if isinstance(keys, dict) else keys))


def register_settings(settings: Any) -> None:
    """Register every API key the settings hold."""
    for provider in ("openai", "anthropic", "openai_compatible"):
        try:
            register(settings.api_key(provider))
        except Exception:  # a settings object without that key
            continue


def redact(text: str) -> str:
    """``text`` with every known secret and key-shaped string replaced."""
    if not text:
        return text
    return _pattern.sub(MARK, text)


def scrub(value: Any) -> Any:
    """``redact`` applied to every string inside dicts, lists and tuples."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(scrub(v) for v in value)
    return value
