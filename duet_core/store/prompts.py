"""The prompt library: named templates with immutable, numbered versions.

``store.prompts`` (a ``PromptLibrary``) saves version N+1 of a template with its author, note
and time; saving messages equal to the latest version's creates nothing and answers with that
version. A saved version never changes, so versions read once are cached.
"""

from __future__ import annotations

import difflib
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from duet_core.errors import ConfigError
from duet_core.models import TEMPLATE_NAME, PromptMessage, describe_validation_error, utcnow
from duet_core.store.schema import prompt_templates, prompt_versions
from duet_core.templates import malformed_placeholders

Transaction = Callable[[], AbstractContextManager[Connection]]

MAX_MESSAGES = 200
_NAME_RULE = "letters, digits, '.', '_' or '-', starting with a letter or digit, at most 100"


class PromptNotFound(ConfigError, LookupError):
    """No saved template (or no such version of it)."""


class PromptVersion(BaseModel):
    """One saved version of a template; never changes once saved."""

    model_config = ConfigDict(frozen=True)

    name: str
    version: int
    messages: list[PromptMessage]
    author: str
    note: str
    created_at: datetime

    def message_dicts(self) -> list[dict[str, str]]:
        return [m.model_dump() for m in self.messages]

    def as_json(self) -> dict[str, Any]:
        """``{"name", "version", "messages", "note", "author", "created_at"}`` (``show --json``)."""
        return {
            "name": self.name,
            "version": self.version,
            "messages": self.message_dicts(),
            "note": self.note,
            "author": self.author,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class PromptSummary:
    name: str
    latest_version: int
    updated_at: datetime  # when the latest version was saved
    author: str  # of the latest version
    note: str  # of the latest version


def check_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ConfigError("Give the template a name.")
    if not re.fullmatch(TEMPLATE_NAME, name):
        raise ConfigError(f"Template name {name!r} is not allowed: use {_NAME_RULE} characters.")
    return name


def check_messages(messages: Any) -> list[PromptMessage]:
    """Validate a template's messages: at least one, known roles, well-formed placeholders."""
    if isinstance(messages, Mapping) and "messages" in messages:
        messages = messages["messages"]
    if not isinstance(messages, Sequence) or isinstance(messages, str) or not messages:
        raise ConfigError(
            'A template is a non-empty list of messages: [{"role": "system", "content": "..."}]'
        )
    if len(messages) > MAX_MESSAGES:
        raise ConfigError(f"A template may have at most {MAX_MESSAGES} messages.")
    out: list[PromptMessage] = []
    for i, m in enumerate(messages, start=1):
        try:
            msg = m if isinstance(m, PromptMessage) else PromptMessage.model_validate(m)
        except ValidationError as e:
            raise ConfigError(
                f"Message {i}: {describe_validation_error(e)} "
                '(each message is {"role": "system" | "human" | "ai", "content": ...})'
            ) from None
        bad = malformed_placeholders(msg.content)
        if bad:
            quoted = ", ".join(repr(b) for b in bad)
            raise ConfigError(
                f"Message {i} ({msg.role}): malformed placeholder {quoted}; write {{{{ name }}}} "
                "with a name of letters, digits and _ not starting with a digit"
            )
        out.append(msg)
    return out


def version_text(messages: Iterable[PromptMessage]) -> list[str]:
    """A version as lines for a diff: ``[role]`` then its content, per message."""
    lines: list[str] = []
    for m in messages:
        lines.append(f"[{m.role}]")
        lines.extend(m.content.splitlines() or [""])
    return lines


class PromptLibrary:
    """Templates in ``store``'s database."""

    def __init__(self, read: Transaction, write: Transaction):
        """``read`` and ``write`` open a transaction (the Store's, with its error wrapping)."""
        self._read, self._write = read, write
        self._cache: dict[tuple[str, int], PromptVersion] = {}
        self._cache_lock = threading.Lock()

    # --- writing -------------------------------------------------------------------------

    def save(
        self, name: str, messages: Any, *, author: str = "local", note: str = ""
    ) -> tuple[PromptVersion, bool]:
        """Save ``messages`` as the next version of ``name``: (that version, True); or, when
        they equal the latest version's, (the latest version, False) and nothing is written."""
        name = check_name(name)
        checked = check_messages(messages)
        wanted = [m.model_dump() for m in checked]
        author = (author or "local").strip()[:200] or "local"
        note = (note or "").strip()
        for attempt in range(3):  # two first saves of one name at once: the loser retries
            try:
                return self._save(name, wanted, author, note)
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _save(
        self, name: str, wanted: list[dict[str, str]], author: str, note: str
    ) -> tuple[PromptVersion, bool]:
        now = utcnow()
        with self._write() as conn:
            latest = conn.execute(
                select(prompt_templates.c.latest_version)
                .where(prompt_templates.c.name == name)
                .with_for_update()
            ).scalar_one_or_none()
            if latest is None:
                conn.execute(
                    insert(prompt_templates),
                    [{"name": name, "created_at": now, "latest_version": 1}],
                )
                version = 1
            else:
                row = conn.execute(
                    select(prompt_versions).where(
                        prompt_versions.c.name == name, prompt_versions.c.version == latest
                    )
                ).one()
                if list(row.messages) == wanted:
                    return _version(row), False
                version = latest + 1
                conn.execute(
                    update(prompt_templates)
                    .where(prompt_templates.c.name == name)
                    .values(latest_version=version)
                )
            values = {
                "name": name,
                "version": version,
                "messages": wanted,
                "author": author,
                "note": note,
                "created_at": now,
            }
            conn.execute(insert(prompt_versions), [values])
        return _version(values), True

    # --- reading -------------------------------------------------------------------------

    def get(self, name: str, version: int | None = None) -> PromptVersion:
        """The given version of ``name`` (the latest when None); PromptNotFound otherwise."""
        if version is not None:
            with self._cache_lock:
                hit = self._cache.get((name, version))
            if hit is not None:
                return hit
        with self._read() as conn:
            if version is None:
                version = conn.execute(
                    select(prompt_templates.c.latest_version).where(prompt_templates.c.name == name)
                ).scalar_one_or_none()
                if version is None:
                    raise PromptNotFound(_no_template(name))
            row = conn.execute(
                select(prompt_versions).where(
                    prompt_versions.c.name == name, prompt_versions.c.version == version
                )
            ).one_or_none()
        if row is None:
            latest = self.latest_version(name)
            if latest is None:
                raise PromptNotFound(_no_template(name))
            raise PromptNotFound(f"Template '{name}' has no version {version} (latest: v{latest}).")
        found = _version(row)
        with self._cache_lock:
            self._cache[(name, found.version)] = found
        return found

    def latest_version(self, name: str) -> int | None:
        with self._read() as conn:
            return conn.execute(
                select(prompt_templates.c.latest_version).where(prompt_templates.c.name == name)
            ).scalar_one_or_none()

    def history(self, name: str) -> list[PromptVersion]:
        """Every version of ``name``, newest first."""
        with self._read() as conn:
            rows = conn.execute(
                select(prompt_versions)
                .where(prompt_versions.c.name == name)
                .order_by(prompt_versions.c.version.desc())
            ).all()
        if not rows:
            raise PromptNotFound(_no_template(name))
        return [_version(r) for r in rows]

    def list(self) -> list[PromptSummary]:
        """Every template with its latest version, by name."""
        with self._read() as conn:
            rows = conn.execute(
                select(
                    prompt_templates.c.name,
                    prompt_templates.c.latest_version,
                    prompt_versions.c.created_at,
                    prompt_versions.c.author,
                    prompt_versions.c.note,
                )
                .join(
                    prompt_versions,
                    (prompt_versions.c.name == prompt_templates.c.name)
                    & (prompt_versions.c.version == prompt_templates.c.latest_version),
                )
                .order_by(func.lower(prompt_templates.c.name), prompt_templates.c.name)
            ).all()
        return [
            PromptSummary(r.name, r.latest_version, r.created_at, r.author, r.note) for r in rows
        ]

    def names(self) -> list[str]:
        return [s.name for s in self.list()]

    def diff(self, name: str, old: int, new: int) -> list[str]:
        """A unified diff (lines) from version ``old`` to version ``new``; empty when equal."""
        a, b = self.get(name, old), self.get(name, new)
        return list(
            difflib.unified_diff(
                version_text(a.messages),
                version_text(b.messages),
                fromfile=f"{name} v{old}",
                tofile=f"{name} v{new}",
                lineterm="",
            )
        )


def _no_template(name: str) -> str:
    return f"No saved template named '{name}'. List them with: python -m duet_core prompts list"


def _version(row: Any) -> PromptVersion:
    m = row if isinstance(row, Mapping) else row._mapping
    return PromptVersion(
        name=m["name"],
        version=m["version"],
        messages=[PromptMessage.model_validate(x) for x in m["messages"]],
        author=m["author"],
        note=m["note"],
        created_at=m["created_at"],
    )
