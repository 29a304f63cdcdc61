"""People signed in through an OpenID Provider (OIDC): who they are in Duet and which role
their groups give them. Pure functions over the ID token's claims (what ``st.user`` exposes);
no Streamlit here. The login gate (``duet_ui/shell/oidc.py``) calls them on every run.

    mapping = RoleMapping.from_settings(settings)
    identity = identity_from_claims(claims, mapping)   # None: refused (in no mapped group)
    expired(claims, now)                               # the ID token's exp has passed

A person's runs and API tokens belong to ``identity.key``: a stable name made from the
issuer and the subject (``iss`` + ``sub``, which OIDC promises never to reassign), never from
an e-mail address or a display name, which change. It cannot be a local username (those have
no ``:``), so the two kinds of account never share runs by accident.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from duet_core.vocabulary import ADMIN, FACILITATOR, USER

KEY_PREFIX = "oidc:"


@dataclass(frozen=True)
class RoleMapping:
    """Which groups make an admin or a facilitator; everyone else is a user, or refused."""

    claim: str = "groups"  # a dotted path reaches into nested claims: realm_access.roles
    admin_groups: tuple[str, ...] = ()
    facilitator_groups: tuple[str, ...] = ()
    refuse_unmapped: bool = False

    @classmethod
    def from_settings(cls, settings: Any) -> RoleMapping:
        return cls(
            claim=settings.oidc_role_claim,
            admin_groups=tuple(settings.oidc_admin_groups),
            facilitator_groups=tuple(settings.oidc_facilitator_groups),
            refuse_unmapped=settings.oidc_refuse_unmapped,
        )


@dataclass(frozen=True)
class Identity:
    """A person as their OpenID Provider vouches for them."""

    key: str  # what their runs and tokens belong to (subject_key)
    name: str
    email: str
    roles: tuple[str, ...]
    issuer: str
    subject: str


def subject_key(issuer: str, subject: str) -> str:
    """``oidc:`` and 20 hex digits of SHA-256 over issuer and subject: stable, the same for
    the same person on every sign-in, distinct across providers."""
    digest = hashlib.sha256(f"{issuer}\0{subject}".encode()).hexdigest()
    return KEY_PREFIX + digest[:20]


def is_identity_key(username: str) -> bool:
    return username.startswith(KEY_PREFIX)


def groups_in(claims: Mapping[str, Any], claim: str) -> list[str]:
    """The groups a claim lists: a list of strings, or one string (some providers send a
    single group as a string). A dotted path reaches into nested objects."""
    value: Any = claims
    for part in claim.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return []
        value = value[part]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Iterable) or isinstance(value, Mapping):
        return []
    return [str(g).strip() for g in value if isinstance(g, str | int) and str(g).strip()]


def roles_for(claims: Mapping[str, Any], mapping: RoleMapping) -> tuple[str, ...] | None:
    """The roles the person's groups give: admin and facilitator from the mapped groups;
    ``(user,)`` for someone in no mapped group, or None (refused) when the mapping says so."""
    groups = set(groups_in(claims, mapping.claim))
    mapped = ((ADMIN, mapping.admin_groups), (FACILITATOR, mapping.facilitator_groups))
    roles = tuple(role for role, wanted in mapped if groups & set(wanted))
    if roles:
        return roles
    return None if mapping.refuse_unmapped else (USER,)


def display_name(claims: Mapping[str, Any]) -> str:
    """What the person is called on the pages: their name, else their login name or e-mail."""
    for key in ("name", "preferred_username", "nickname", "email"):
        value = claims.get(key)
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())[:100]
    given = " ".join(str(claims.get(k) or "") for k in ("given_name", "family_name")).strip()
    return given[:100] or str(claims.get("sub") or "")


def identity_from_claims(claims: Mapping[str, Any], mapping: RoleMapping) -> Identity | None:
    """The person these ID-token claims name, with their roles; None when refused.
    ValueError when the claims lack ``iss`` or ``sub`` (every ID token has both)."""
    issuer, subject = str(claims.get("iss") or ""), str(claims.get("sub") or "")
    if not issuer or not subject:
        raise ValueError("The identity provider's ID token has no iss or sub claim.")
    roles = roles_for(claims, mapping)
    if roles is None:
        return None
    email = claims.get("email")
    return Identity(
        key=subject_key(issuer, subject),
        name=display_name(claims),
        email=email.strip() if isinstance(email, str) else "",
        roles=roles,
        issuer=issuer,
        subject=subject,
    )


def expires_at(claims: Mapping[str, Any]) -> datetime | None:
    """When the ID token stops being valid (its ``exp``); None when it has none."""
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    return datetime.fromtimestamp(exp, UTC)


def expired(claims: Mapping[str, Any], now: datetime | None = None) -> bool:
    """Whether the ID token's ``exp`` has passed (Streamlit keeps its cookie 30 days and does
    not look). A token without ``exp`` counts as expired: OIDC requires the claim."""
    until = expires_at(claims)
    return until is None or (now or datetime.now(UTC)) >= until
