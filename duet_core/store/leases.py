"""Leases: which process runs a live run, and until when (docs/design.md, "Runs across
processes"). A live run whose lease has expired reads as interrupted."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_

from duet_core.models import RunStatus, utcnow
from duet_core.store.schema import runs

LIVE_STATUSES = tuple(s.value for s in RunStatus if s.live)


def lease_until(seconds: float) -> datetime:
    return utcnow() + timedelta(seconds=seconds)


def lease_expired(now: datetime, none_is_expired: bool) -> ColumnElement[bool]:
    """The lease has run out (a run with no lease counts as expired when asked)."""
    expired = runs.c.lease_expires_at < now
    return or_(expired, runs.c.lease_expires_at.is_(None)) if none_is_expired else expired


def effective_status(status: RunStatus, lease_expires_at: datetime | None) -> RunStatus:
    """A live run whose lease has expired reads as interrupted: its process is gone."""
    if status.live and lease_expires_at is not None and lease_expires_at < utcnow():
        return RunStatus.INTERRUPTED
    return status


def status_in(statuses: list[RunStatus], now: datetime) -> ColumnElement[bool]:
    """Runs whose effective status (see ``effective_status``) is one of ``statuses``."""
    lease = runs.c.lease_expires_at
    live = runs.c.status.in_(LIVE_STATUSES)
    fresh = or_(runs.c.status.not_in(LIVE_STATUSES), lease.is_(None), lease >= now)
    parts = [and_(runs.c.status.in_([s.value for s in statuses]), fresh)]
    if RunStatus.INTERRUPTED in statuses:
        parts.append(and_(live, lease.is_not(None), lease < now))
    return or_(*parts)
