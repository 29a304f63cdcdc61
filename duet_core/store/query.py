"""What the History page asks the store for, and the one-line summaries it gets back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from duet_core.models import RunStatus


def _aware(v: datetime | None) -> datetime | None:
    if v is None:
        return None
    return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)


class RunQuery(BaseModel):
    """Which runs to list. Every filter left at its default matches every run.

    ``since`` is inclusive and ``until`` exclusive (both on ``created_at``; a naive datetime is
    taken as UTC). ``search`` matches runs that have every word of it as the start of a word
    somewhere (topic or any turn), ignoring case and accents (full-text: ``search.py``).
    ``provider`` and ``model`` match either bot's settings at the start of the run.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    owner: str | None = None  # None: everyone's runs
    statuses: list[RunStatus] = []
    provider: str | None = None
    model: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    search: str | None = None
    experiment: str | None = None  # an experiment's runs only (its id)
    limit: Annotated[int, Field(ge=1, le=10_000)] = 50
    offset: Annotated[int, Field(ge=0)] = 0

    @field_validator("provider", "model", "search", "owner", "experiment")
    @classmethod
    def _blank_is_none(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = v.strip()
        return v or None

    @field_validator("since", "until")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        return _aware(v)


class BotSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    provider: str
    model: str


class RunSummary(BaseModel):
    """One run as the History table shows it; read from the runs row alone (no join)."""

    model_config = ConfigDict(frozen=True)

    id: str
    owner: str
    created_at: datetime
    finished_at: datetime | None
    topic: str
    status: RunStatus
    stop_reason: str | None
    error: str | None
    bots: tuple[BotSummary, BotSummary]
    max_turns: int
    turn_count: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None  # None when any bot turn's cost is unknown
    duration_s: float | None  # None while the run has not finished
    experiment_id: str | None = None  # an experiment's run

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class RunPage(BaseModel):
    """One page of a listing, newest first, and how many runs match in all."""

    items: list[RunSummary]
    total: int
