"""Personal API tokens (docs/design.md, "HTTP API"): made for an account, shown once, kept only
as a SHA-256 hash, revocable, with the time each was last used.

    tokens = ApiTokens(store)
    token, secret = tokens.create("alice", name="notebook")   # show ``secret`` once
    tokens.find(secret)                                        # the token, or None
    tokens.revoke(token.id)

A token is 32 random bytes, so a fast hash is enough (nothing to guess from it); ``find``
compares hashes through the unique index. ``last_used_at`` is written at most once a minute
per token, so a program calling in a loop does not write to the database on every request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from duet_core.errors import ConfigError, NotFound
from duet_core.models import new_id, utcnow
from duet_core.store.schema import api_tokens

if TYPE_CHECKING:
    from duet_core.store.store import Store

PREFIX = "duet_"  # every token starts so: a secret scanner (and a person) can tell what it is
TOUCH_EVERY = timedelta(seconds=60)
MAX_NAME = 100


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: str
    username: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def as_json(self) -> dict[str, Any]:
        """The token's record (never its secret)."""
        return {
            "id": self.id,
            "user": self.username,
            "name": self.name,
            "created_at": self.created_at.isoformat(),
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def looks_like_token(secret: str) -> bool:
    return secret.startswith(PREFIX) and 20 <= len(secret) <= 200


def _token(row: Any) -> ApiToken:
    return ApiToken(
        id=row.id,
        username=row.username,
        name=row.name,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


_COLUMNS = [c for c in api_tokens.c if c.key != "token_hash"]


class ApiTokens:
    """The API tokens in ``store``'s database."""

    def __init__(self, store: Store):
        self._store = store

    def create(self, username: str, name: str = "") -> tuple[ApiToken, str]:
        """A new token for ``username``: (its record, the secret to show once)."""
        username = (username or "").strip()
        if not username:
            raise ConfigError("A token belongs to an account: give a username.")
        name = " ".join((name or "").split())
        if len(name) > MAX_NAME:
            raise ConfigError(f"A token's name may be at most {MAX_NAME} characters.")
        secret = PREFIX + secrets.token_urlsafe(32)
        now = utcnow()
        token = ApiToken(new_id("t"), username, name, now, None, None)
        with self._store._write() as conn:
            conn.execute(
                insert(api_tokens),
                [
                    {
                        "id": token.id,
                        "username": username,
                        "name": name,
                        "token_hash": token_hash(secret),
                        "created_at": now,
                        "last_used_at": None,
                        "revoked_at": None,
                    }
                ],
            )
        return token, secret

    def find(self, secret: str) -> ApiToken | None:
        """The active token whose secret this is (its ``last_used_at`` brought up to date, at
        most once a minute); None for an unknown or revoked one."""
        if not looks_like_token(secret):
            return None
        with self._store._read() as conn:
            row = conn.execute(
                select(*_COLUMNS).where(api_tokens.c.token_hash == token_hash(secret))
            ).one_or_none()
        if row is None or row.revoked_at is not None:
            return None
        token = _token(row)
        now = utcnow()
        if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
            with self._store._write() as conn:
                conn.execute(
                    update(api_tokens).where(api_tokens.c.id == token.id).values(last_used_at=now)
                )
        return token

    def get(self, token_id: str) -> ApiToken | None:
        with self._store._read() as conn:
            row = conn.execute(select(*_COLUMNS).where(api_tokens.c.id == token_id)).one_or_none()
        return None if row is None else _token(row)

    def list(self, username: str | None = None, include_revoked: bool = False) -> list[ApiToken]:
        """Tokens (of ``username``; everyone's when None), newest first."""
        stmt = select(*_COLUMNS).order_by(api_tokens.c.created_at.desc(), api_tokens.c.id)
        if username is not None:
            stmt = stmt.where(api_tokens.c.username == username)
        if not include_revoked:
            stmt = stmt.where(api_tokens.c.revoked_at.is_(None))
        with self._store._read() as conn:
            return [_token(r) for r in conn.execute(stmt).all()]

    def revoke(self, token_id: str, username: str | None = None) -> ApiToken:
        """Revoke a token (of ``username`` only, when given); revoking it again changes
        nothing. NotFound when there is no such token (of that user)."""
        token = self.get(token_id)
        if token is None or (username is not None and token.username != username):
            raise NotFound(f"No API token {token_id!r}; list them to find its id.")
        if token.revoked_at is not None:
            return token
        now = utcnow()
        with self._store._write() as conn:
            conn.execute(
                update(api_tokens)
                .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        return self.get(token_id) or token

    def revoke_all(self, username: str) -> int:
        """Revoke every active token of ``username`` (its account is removed: a new account
        of that name must not inherit them); how many were revoked."""
        with self._store._write() as conn:
            result = conn.execute(
                update(api_tokens)
                .where(api_tokens.c.username == username, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
        return int(result.rowcount or 0)
