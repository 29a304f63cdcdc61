"""``Store``: every run and turn, saved as it happens, on SQLite or PostgreSQL.

Safe to share between threads: each method takes a pooled connection for one short
transaction. Writes on SQLite take turns within the process (``connect.write_lock``) and start
with ``BEGIN IMMEDIATE`` so they queue on the database's write lock (busy timeout 5 s, for
other processes) instead of failing; reads see one consistent snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import (
    URL,
    Connection,
    Row,
    and_,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, SQLAlchemyError

from duet_core.errors import DuetError
from duet_core.models import Run, RunStatus, Turn, utcnow
from duet_core.redact import redact
from duet_core.store import branches, connect, leases, migrate, rows, search, selection
from duet_core.store.branches import BranchSummary
from duet_core.store.connect import DatabaseUnavailable
from duet_core.store.evaluations import EVALUATION_ORDER, Evaluations, evaluation_from_row
from duet_core.store.prompts import PromptLibrary
from duet_core.store.query import RunPage, RunQuery
from duet_core.store.schema import evaluations, run_continues, runs, turns

SUMMARY_COLUMNS = [c for c in runs.c if c.key != "config"]


class StoreError(DuetError):
    """The database failed. The message names the failure, never the SQL or its values."""


class LeaseLost(DuetError):
    """Another process has taken this run over (its lease had expired)."""

    def __init__(self, run_id: str):
        super().__init__(f"Run {run_id} was taken over by another process; this one stopped it.")
        self.run_id = run_id


class RunNotFound(DuetError, LookupError):
    """No saved run has this id (it may have been deleted)."""

    def __init__(self, run_id: str):
        super().__init__(f"No saved run with id '{run_id}'. List the saved runs to find its id.")
        self.run_id = run_id


class Store:
    """Saved runs in the database at ``url`` (default: ``DUET_DATABASE_URL``).

    Creating a Store applies any pending migrations. Call ``close()`` when done.
    """

    def __init__(self, url: str | URL | None = None, must_exist: bool = False):
        """``must_exist``: refuse a SQLite file that is not there yet (commands that read
        saved runs), rather than create an empty database at a mistyped path."""
        if url is None:
            from duet_core.settings import load_settings

            url = load_settings().database_url
        self.url = connect.parse_url(url)
        shown = self.url.render_as_string(hide_password=True)
        if must_exist and self.url.get_backend_name() == "sqlite":
            file = self.url.database or ""
            if file not in ("", ":memory:") and not Path(file).expanduser().is_file():
                raise DatabaseUnavailable(
                    f"No database at {file}: check --db or DUET_DATABASE_URL."
                )
        if self.url.get_backend_name() == "sqlite":
            file = Path(self.url.database or "").expanduser()
            blocker = next((p for p in file.parents if p.exists() and not p.is_dir()), None)
            if blocker is not None:
                raise DatabaseUnavailable(
                    f"Cannot create the database {shown}: {blocker} is a file, not a folder."
                )
        try:
            self.engine = connect.open_engine(self.url)
            self._write_lock = connect.write_lock(self.url)
        except OSError as e:
            raise DatabaseUnavailable(
                f"Cannot create the database {shown}: {e.strerror or e}."
            ) from None
        except (ImportError, ArgumentError) as e:  # NoSuchModuleError is an ArgumentError
            raise DatabaseUnavailable(
                f"Cannot use the database {shown}: {e}. Install its driver or use a "
                "sqlite:/// or postgresql:// URL."
            ) from None
        try:
            migrate.upgrade(self.engine)
        except DBAPIError as e:
            self.engine.dispose()
            text = str(e.orig).strip().splitlines() if e.orig is not None else []
            reason = redact(text[0][:200]) if text else type(e).__name__
            raise DatabaseUnavailable(f"Cannot open the database {shown}: {reason}") from None
        except BaseException:
            self.engine.dispose()
            raise

    def __repr__(self) -> str:
        return f"Store({self.url.render_as_string(hide_password=True)!r})"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    def answers(self) -> bool:
        """Whether the database answers a query now (for a health check)."""
        try:
            with self._read() as conn:
                conn.execute(select(1))
        except (DuetError, SQLAlchemyError):  # refused, gone, or the pool timed out
            return False
        return True

    @cached_property
    def prompts(self) -> PromptLibrary:
        """The prompt library (named templates and their versions) in this database."""
        return PromptLibrary(self._read, self._write)

    @cached_property
    def evaluations(self) -> Evaluations:
        """Judges' scores, people's ratings and votes in this database."""
        return Evaluations(self._read, self._write)

    # --- transactions --------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._write_lock, _safe_errors(), self.engine.connect() as conn:
            conn.execution_options(duet_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with _safe_errors(), self.engine.connect() as conn, conn.begin():
            yield conn

    # --- writing -------------------------------------------------------------------------

    def create_run(
        self, run: Run, lease_owner: str | None = None, lease_seconds: float | None = None
    ) -> None:
        """Save a new run with its config and any turns it already has (and, for a live run
        this process runs, its lease)."""
        values = rows.run_values(run)
        if lease_owner is not None and lease_seconds is not None:
            values.update(
                lease_owner=lease_owner, lease_expires_at=leases.lease_until(lease_seconds)
            )
        try:
            with self._write() as conn:
                conn.execute(insert(runs), [values])
                if run.turns:
                    conn.execute(insert(turns), [rows.turn_values(run.id, t) for t in run.turns])
                rows.refresh_aggregates(conn, run.id)
        except IntegrityError as e:
            raise ValueError(f"Cannot save run {run.id!r}: {e.orig}") from None

    def save_turn(self, run_id: str, turn: Turn, lease_owner: str | None = None) -> None:
        """Insert the turn, or replace the one with the same index; committed at once.

        With ``lease_owner``, only while that process holds the run (else ``LeaseLost``).
        """
        with self._write() as conn:
            _lock_run(conn, run_id, lease_owner)
            same = and_(turns.c.run_id == run_id, turns.c.index == turn.index)
            old = conn.execute(select(*rows.TOTALLED).where(same)).first()
            if old is not None:
                conn.execute(delete(turns).where(same))
            conn.execute(insert(turns), [rows.turn_values(run_id, turn)])
            new = (turn.bot_index, turn.input_tokens, turn.output_tokens, turn.cost_usd)
            rows.add_to_aggregates(conn, run_id, new, old)  # O(1): never a sum over the run

    def set_status(
        self,
        run_id: str,
        status: RunStatus | str,
        stop_reason: str | None = None,
        error: str | None = None,
        finished_at: datetime | None = None,
        lease_owner: str | None = None,
    ) -> None:
        """Set the run's status, stop reason and error (None clears them).

        A run that is no longer live gets ``finished_at`` (now when not given) and gives up its
        lease; a live one (running, paused) has ``finished_at`` cleared. With ``lease_owner``,
        only while that process holds the run (else ``LeaseLost``).
        """
        status = RunStatus(status)
        now = utcnow()
        if status.live:
            finished_at = None
        elif finished_at is None:
            finished_at = now
        values: dict[str, Any] = {
            "status": status.value,
            "stop_reason": rows.stored_text(stop_reason),
            "error": rows.stored_text(error),
            "finished_at": finished_at,
            "updated_at": now,
        }
        if not status.live:
            values["lease_expires_at"] = None
        with self._write() as conn:
            stmt = update(runs).where(runs.c.id == run_id)
            if lease_owner is not None:
                stmt = stmt.where(runs.c.lease_owner == lease_owner)
            done = conn.execute(stmt.values(**values))
            if done.rowcount == 0:
                _missing_or_lost(conn, run_id, lease_owner)

    def delete_run(self, run_id: str) -> bool:
        """Delete the run and its turns; False when there was no such run."""
        with self._write() as conn:
            return conn.execute(delete(runs).where(runs.c.id == run_id)).rowcount > 0

    def mark_interrupted(self) -> list[str]:
        """Runs left running or paused by a process that died (their lease expired, or they
        have none) become interrupted. Runs another live process holds are not touched.

        ``finished_at`` becomes the time of the run's last saved change. Returns their ids.
        """
        with self._write() as conn:
            return leases.interrupt_abandoned(conn)

    # --- leases (several processes on one database: duet_core/store/leases.py) ------------

    def renew_leases(self, lease_owner: str, run_ids: Iterable[str], seconds: float) -> set[str]:
        """Extend ``lease_owner``'s leases on these live runs; returns the ids it still holds
        (a run missing from the answer was taken over or has ended)."""
        ids = list(run_ids)
        if not ids:
            return set()
        with self._write() as conn:
            return leases.renew(conn, lease_owner, ids, seconds)

    def take_over(
        self,
        run_id: str,
        lease_owner: str,
        seconds: float,
        completed_too: bool = False,
        continued_by: str | None = None,
    ) -> bool:
        """Make the run ``running`` under ``lease_owner``'s lease, in one conditional UPDATE:
        only when it was cut short (stopped, interrupted, error; or completed, with
        ``completed_too``: Continue with more turns), or it is live and its lease expired. Of
        two processes that try at once, exactly one gets True; and a run the winner has since
        finished is not taken over again by the loser. ``continued_by``: a person continues
        the run; in the same transaction, it counts as one of their starts
        (``runs_started_since``)."""
        with self._write() as conn:
            taken = leases.take_over(conn, run_id, lease_owner, seconds, completed_too)
            if taken and continued_by is not None:
                conn.execute(
                    insert(run_continues).values(
                        run_id=run_id, username=continued_by, continued_at=utcnow()
                    )
                )
            return taken

    # --- reading -------------------------------------------------------------------------

    def get_run(self, run_id: str) -> Run | None:
        """The whole run with its turns in order, or None."""
        with self._read() as conn:
            row = conn.execute(select(runs).where(runs.c.id == run_id)).one_or_none()
            if row is None:
                return None
            turn_rows = conn.execute(
                select(turns).where(turns.c.run_id == run_id).order_by(turns.c.index)
            ).all()
            judged = conn.execute(
                select(evaluations)
                .where(evaluations.c.run_id == run_id)
                .order_by(*EVALUATION_ORDER)
            ).all()
        run = rows.run_from_rows(row, turn_rows)
        run.evaluations = [evaluation_from_row(r) for r in judged]
        return run

    def list_runs(self, query: RunQuery | None = None) -> RunPage:
        """One page of run summaries, newest first, and the number of matching runs."""
        query = query or RunQuery()
        where = selection.conditions(query, self.dialect)
        with self._read() as conn:
            search.prepare(conn, query.search)
            total = conn.execute(select(func.count()).select_from(runs).where(*where)).scalar_one()
            found = conn.execute(
                select(*SUMMARY_COLUMNS)
                .where(*where)
                .order_by(runs.c.created_at.desc(), runs.c.id.desc())
                .limit(query.limit)
                .offset(query.offset)
            ).all()
        return RunPage(items=[rows.run_summary(r) for r in found], total=total)

    def runs_started_since(self, owner: str, since: datetime) -> tuple[int, datetime | None]:
        """How many runs ``owner`` created or continued at or after ``since`` (through any
        process sharing this database), and when the oldest of those starts was: the
        runs-per-minute limit."""
        with self._read() as conn:
            created, first_created = conn.execute(
                select(func.count(), func.min(runs.c.created_at)).where(
                    runs.c.owner == owner, runs.c.created_at >= since
                )
            ).one()
            continued, first_continued = conn.execute(
                select(func.count(), func.min(run_continues.c.continued_at)).where(
                    run_continues.c.username == owner, run_continues.c.continued_at >= since
                )
            ).one()
        firsts = [
            t if t.tzinfo else t.replace(tzinfo=UTC)
            for t in (first_created, first_continued)
            if t is not None
        ]  # an aggregate skips the column type
        return int(created) + int(continued), min(firsts, default=None)

    def runs_for_export(self, query: RunQuery | None = None) -> Iterator[Run]:
        """Every run matching the query's filters (``limit``/``offset`` ignored), whole,
        newest first; read in batches so memory stays flat."""
        for run_row, turn_rows in self.export_rows(query):
            yield rows.run_from_rows(run_row, turn_rows)

    def export_rows(
        self, query: RunQuery | None = None, *, with_json: bool = True
    ) -> Iterator[tuple[Row[Any], list[Row[Any]]]]:
        """Every matching run's row with its turns' rows, in batches (``selection.batches``)."""
        query = query or RunQuery()
        where = selection.conditions(query, self.dialect)
        return selection.batches(self._read, where, query.search, with_json=with_json)

    def branches_of(self, run_id: str, owner: str | None = None) -> list[BranchSummary]:
        """The runs saved from the Prompt Lab off ``run_id``, oldest first (``owner``'s)."""
        with self._read() as conn:
            return branches.branches_of(conn, run_id, owner)

    def branch_counts(self, run_ids: list[str], owner: str | None = None) -> dict[str, int]:
        """How many branches each of ``run_ids`` has (runs without any are left out)."""
        with self._read() as conn:
            return branches.branch_counts(conn, run_ids, owner)

    def parents_of(self, run_ids: list[str]) -> dict[str, tuple[str, int | None]]:
        """For each of ``run_ids`` that is a branch: its parent's id and its fork turn."""
        with self._read() as conn:
            return branches.parents_of(conn, run_ids)

    def export_size(self, query: RunQuery | None = None) -> tuple[int, int]:
        """How many runs match the query's filters, and how many turns they have."""
        where = selection.conditions(query or RunQuery(), self.dialect)
        with self._read() as conn:
            search.prepare(conn, query.search if query else None)
            runs_n, turns_n = conn.execute(
                select(func.count(), func.coalesce(func.sum(runs.c.turn_count), 0)).where(*where)
            ).one()
        return int(runs_n), int(turns_n)


def _lock_run(conn: Connection, run_id: str, lease_owner: str | None = None) -> None:
    """Lock the run's row for this transaction (and stamp it), or raise RunNotFound (or
    LeaseLost when ``lease_owner`` no longer holds it)."""
    stmt = update(runs).where(runs.c.id == run_id)
    if lease_owner is not None:
        stmt = stmt.where(runs.c.lease_owner == lease_owner)
    done = conn.execute(stmt.values(updated_at=utcnow()))
    if done.rowcount == 0:
        _missing_or_lost(conn, run_id, lease_owner)


def _missing_or_lost(conn: Connection, run_id: str, lease_owner: str | None) -> None:
    if lease_owner is not None:
        found = conn.execute(select(runs.c.id).where(runs.c.id == run_id)).first()
        if found is not None:
            raise LeaseLost(run_id)
    raise RunNotFound(run_id)


@contextmanager
def _safe_errors() -> Iterator[None]:
    """A database failure as a StoreError naming it, without the statement or its values
    (they may hold a whole reply). An IntegrityError stays one (callers retry or explain
    it) but loses its statement and values."""
    try:
        yield
    except IntegrityError as e:
        e.statement, e.params = None, None  # type: ignore[assignment]
        raise
    except DBAPIError as e:
        reason = type(e.orig).__name__ if e.orig is not None else type(e).__name__
        text = str(e.orig).strip() if e.orig is not None else ""
        detail = f": {redact(text.splitlines()[0][:200])}" if text else ""
        raise StoreError(f"The database failed ({reason}{detail}).") from None
