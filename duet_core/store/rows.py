"""Rows <-> models: what a run and a turn look like as table rows, and back; the runs'
aggregates kept in step with their turns."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, Row, and_, case, func, select, update

from duet_core.models import TURN_FIELDS, Run, RunStatus, Turn, utcnow
from duet_core.redact import redact
from duet_core.saved import bot_config_from_saved, prompt_ref_from_saved, run_config_from_saved
from duet_core.store.leases import effective_status
from duet_core.store.query import BotSummary, RunSummary
from duet_core.store.schema import runs, turns

TOTALLED = (turns.c.bot_index, turns.c.input_tokens, turns.c.output_tokens, turns.c.cost_usd)


def stored_text(value: str | None) -> str | None:
    """Text as stored: without NUL (PostgreSQL cannot store it; dropped on both databases
    alike) and with API keys redacted."""
    if value is None:
        return None
    return redact(value.replace("\x00", ""))


def stored_json(value: Any) -> Any:
    if isinstance(value, str):
        return stored_text(value)
    if isinstance(value, dict):
        return {k: stored_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [stored_json(v) for v in value]
    return value


def _totals_of(row: Any) -> tuple[int, int, int, float, int]:
    """What one turn adds to its run's aggregates: count, tokens in/out, known cost, and
    whether it is a bot turn without a price."""
    bot_index, tokens_in, tokens_out, cost = row
    unpriced = int(bot_index is not None and cost is None)
    return 1, tokens_in or 0, tokens_out or 0, cost or 0.0, unpriced


def add_to_aggregates(conn: Connection, run_id: str, new: Any, old: Any | None) -> None:
    """Move the run's aggregates by one saved turn (minus the one it replaced, if any)."""
    delta = _totals_of(new)
    if old is not None:
        delta = tuple(a - b for a, b in zip(delta, _totals_of(old), strict=True))
    count, tokens_in, tokens_out, cost, unpriced = delta
    conn.execute(
        update(runs)
        .where(runs.c.id == run_id)
        .values(
            turn_count=func.coalesce(runs.c.turn_count, 0) + count,
            input_tokens=func.coalesce(runs.c.input_tokens, 0) + tokens_in,
            output_tokens=func.coalesce(runs.c.output_tokens, 0) + tokens_out,
            cost_usd=func.coalesce(runs.c.cost_usd, 0.0) + cost,
            unpriced_turns=func.coalesce(runs.c.unpriced_turns, 0) + unpriced,
        )
    )


def refresh_aggregates(conn: Connection, run_id: str) -> None:
    unpriced = case((and_(turns.c.bot_index.is_not(None), turns.c.cost_usd.is_(None)), 1), else_=0)
    totals = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(turns.c.input_tokens), 0),
            func.coalesce(func.sum(turns.c.output_tokens), 0),
            func.coalesce(func.sum(turns.c.cost_usd), 0.0),
            func.coalesce(func.sum(unpriced), 0),
        ).where(turns.c.run_id == run_id)
    ).one()
    conn.execute(
        update(runs)
        .where(runs.c.id == run_id)
        .values(
            turn_count=totals[0],
            input_tokens=totals[1],
            output_tokens=totals[2],
            cost_usd=float(totals[3]),
            unpriced_turns=totals[4],
        )
    )


def run_values(run: Run) -> dict[str, Any]:
    bots = run.config.bots
    values = {
        "id": run.id,
        "owner": run.owner,
        "status": RunStatus(run.status).value,
        "stop_reason": run.stop_reason,
        "error": run.error,
        "created_at": run.created_at,
        "finished_at": run.finished_at,
        "updated_at": utcnow(),
        "topic": run.config.topic,
        "max_turns": run.config.max_turns,
        "config": run.config.model_dump(mode="json"),
        **{f"bot{i}_name": bots[i].name for i in (0, 1)},
        **{f"bot{i}_provider": bots[i].provider for i in (0, 1)},
        **{f"bot{i}_model": bots[i].model for i in (0, 1)},
        "turn_count": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "cost_usd": 0.0,
        "unpriced_turns": 0,
        "parent_id": run.parent_id,
        "fork_turn": run.fork_turn,
        "experiment_id": run.experiment_id,
        "experiment_cell": run.experiment_cell,
    }
    return {k: stored_json(v) for k, v in values.items()}  # text without NUL, keys redacted


# the turn's fields that are columns of ``turns`` (all of TURN_FIELDS but temperature)
TURN_COLUMNS = tuple(f for f in TURN_FIELDS if f in turns.c)


def turn_values(run_id: str, turn: Turn) -> dict[str, Any]:
    values: dict[str, Any] = {"run_id": run_id}
    for name in TURN_COLUMNS:
        value = getattr(turn, name)
        if isinstance(value, BaseModel):  # config, prompt
            value = value.model_dump(mode="json")
        values[name] = stored_json(value)  # text without NUL and with keys redacted
    return values


def turn_from_row(row: Row[Any]) -> Turn:
    # built without validation: the row is typed already, and a config saved long ago must
    # load even when today's rules would refuse it (see duet_core.saved)
    m = row._mapping
    own = {name: m[name] for name in Turn.model_fields}
    own["config"] = bot_config_from_saved(m["config"])
    own["prompt"] = prompt_ref_from_saved(m["prompt"])
    return Turn.model_construct(**own)


def run_from_rows(row: Row[Any], turn_rows: Iterable[Row[Any]]) -> Run:
    return Run.model_construct(
        id=row.id,
        owner=row.owner,
        config=run_config_from_saved(row.config),
        status=effective_status(RunStatus(row.status), row.lease_expires_at),
        stop_reason=row.stop_reason,
        error=row.error,
        created_at=row.created_at,
        finished_at=row.finished_at,
        turns=[turn_from_row(t) for t in turn_rows],
        parent_id=row.parent_id,
        fork_turn=row.fork_turn,
        experiment_id=row.experiment_id,
        experiment_cell=row.experiment_cell,
    )


def run_summary(row: Row[Any]) -> RunSummary:
    m = row._mapping
    return RunSummary(
        id=row.id,
        owner=row.owner,
        created_at=row.created_at,
        finished_at=row.finished_at,
        topic=row.topic,
        status=effective_status(RunStatus(row.status), row.lease_expires_at),
        stop_reason=row.stop_reason,
        error=row.error,
        bots=tuple(
            BotSummary(
                name=m[f"bot{i}_name"], provider=m[f"bot{i}_provider"], model=m[f"bot{i}_model"]
            )
            for i in (0, 1)
        ),
        max_turns=row.max_turns,
        turn_count=row.turn_count,
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        cost_usd=None if row.unpriced_turns else round(row.cost_usd, 8),
        duration_s=(
            (row.finished_at - row.created_at).total_seconds() if row.finished_at else None
        ),
        experiment_id=m.get("experiment_id"),
    )
