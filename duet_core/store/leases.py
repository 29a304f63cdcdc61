"""Leases: which process runs a live run, and until when (docs/design.md, "Runs across
processes"). A live run whose lease has expired reads as interrupted. The statements here run
in the caller's write transaction (``Store`` methods of the same names)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select, update

from duet_core.models import RunStatus, utcnow
from duet_core.store.schema import runs
from duet_core.vocabulary import CONTINUABLE

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


def interrupt_abandoned(conn: Connection) -> list[str]:
    """Mark live runs with an expired (or no) lease interrupted; their ids, oldest first."""
    ids = list(
        conn.execute(
            select(runs.c.id)
            .where(runs.c.status.in_(LIVE_STATUSES), lease_expired(utcnow(), True))
            .order_by(runs.c.created_at)
            .with_for_update()
        ).scalars()
    )
    if ids:
        conn.execute(
            update(runs)
            .where(runs.c.id.in_(ids))
            .values(
                status=RunStatus.INTERRUPTED.value,
                stop_reason="interrupted",
                finished_at=func.coalesce(runs.c.finished_at, runs.c.updated_at),
                lease_expires_at=None,
            )
        )
    return ids


def renew(conn: Connection, lease_owner: str, ids: list[str], seconds: float) -> set[str]:
    """Extend ``lease_owner``'s leases on these live runs; the ids it still holds."""
    held = conn.execute(
        update(runs)
        .where(
            runs.c.id.in_(ids),
            runs.c.lease_owner == lease_owner,
            runs.c.status.in_(LIVE_STATUSES),
        )
        .values(lease_expires_at=lease_until(seconds))
        .returning(runs.c.id)
    ).scalars()
    return set(held)


def take_over(
    conn: Connection, run_id: str, lease_owner: str, seconds: float, completed_too: bool
) -> bool:
    """One conditional UPDATE (see ``Store.take_over``); True when this caller got the run."""
    now = utcnow()
    statuses = {s.value for s in CONTINUABLE}
    if completed_too:
        statuses.add(RunStatus.COMPLETED.value)
    done = conn.execute(
        update(runs)
        .where(
            runs.c.id == run_id,
            or_(
                runs.c.status.in_(sorted(statuses)),
                and_(runs.c.status.in_(LIVE_STATUSES), lease_expired(now, True)),
            ),
        )
        .values(
            status=RunStatus.RUNNING.value,
            stop_reason=None,
            error=None,
            finished_at=None,
            updated_at=now,
            lease_owner=lease_owner,
            lease_expires_at=now + timedelta(seconds=seconds),
        )
    )
    return done.rowcount == 1
