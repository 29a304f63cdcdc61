"""Every body and answer of the HTTP API, as pydantic models (so ``/api/openapi.json`` documents
each path). Run configs and bot settings are the core's own models (``RunConfig``,
``BotConfig``, ``PromptMessage``): one schema for config files, the pages and the API."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from duet_core.lab.variants import MAX_VARIANTS
from duet_core.models import MAX_VERSION, TEMPLATE_NAME, BotConfig, PromptMessage
from duet_core.run.engine import MAX_INTERJECTION
from duet_core.vocabulary import ExperimentStatus, RunStatus


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- errors ------------------------------------------------------------------------------


class ErrorOut(BaseModel):
    detail: str


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str | None = None


class ValidationErrorOut(BaseModel):
    detail: list[FieldError]


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: the error answers it may give."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        model = ValidationErrorOut if status == 422 else ErrorOut
        out[status] = {"model": model}
    return out


AUTH_ERRORS = (401, 403)


# --- health ------------------------------------------------------------------------------


class Health(BaseModel):
    status: str
    database: str
    active_runs: int


# --- runs --------------------------------------------------------------------------------


class RunStarted(BaseModel):
    id: str
    status: RunStatus


class RunControl(BaseModel):
    """A run's state after a control: ``pause_requested`` while a pause waits for the turn in
    progress to finish."""

    id: str
    status: RunStatus
    pause_requested: bool = False


class Interjection(Strict):
    text: Annotated[str, Field(min_length=1, max_length=MAX_INTERJECTION)]


class TranscriptRun(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    topic: str
    status: RunStatus
    stop_reason: str | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    created_by: str
    max_turns: int
    parent_id: str | None
    fork_turn: int | None


class TranscriptTurn(BaseModel):
    model_config = ConfigDict(extra="allow")

    index: int
    bot_index: int | None
    bot_name: str
    content: str
    thinking: str


class Transcript(BaseModel):
    """A run as ``duet.transcript/1`` JSON (the same as the JSON export)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    schema_: str = Field(alias="schema")
    run: TranscriptRun
    bots: list[dict[str, Any]]
    turns: list[TranscriptTurn]


class ExportFormat(StrEnum):
    json = "json"
    csv = "csv"
    jsonl = "jsonl"
    md = "md"
    pdf = "pdf"


EXPORT_MEDIA = {
    ExportFormat.json: "application/json",
    ExportFormat.csv: "text/csv; charset=utf-8",
    ExportFormat.jsonl: "application/x-ndjson",
    ExportFormat.md: "text/markdown; charset=utf-8",
    ExportFormat.pdf: "application/pdf",
}


def _optional(name: str) -> tuple[Any, Any]:
    info = BotConfig.model_fields[name]
    hint = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
    return (hint | None, None)


# Some BotConfig fields: each applies from the bot's next turn; null clears an optional knob.
BotPatch = create_model(  # type: ignore[call-overload]
    "BotPatch",
    __config__=ConfigDict(extra="forbid"),
    __doc__="Some of a bot's settings (BotConfig fields); the others stay as they are.",
    **{name: _optional(name) for name in BotConfig.model_fields},
)


# --- prompt library ----------------------------------------------------------------------

TemplateName = Annotated[str, Field(pattern=TEMPLATE_NAME)]


class PromptSummaryOut(BaseModel):
    name: str
    version: int
    author: str
    note: str
    created_at: datetime


class PromptVersionOut(BaseModel):
    name: str
    version: int
    messages: list[PromptMessage]
    note: str
    author: str
    created_at: datetime


class NewVersion(Strict):
    messages: Annotated[list[PromptMessage], Field(min_length=1, max_length=200)]
    note: Annotated[str, Field(max_length=2000)] = ""


Version = Annotated[int, Field(ge=1, le=MAX_VERSION)]


class RenderRequest(Strict):
    version: Version | None = None
    variables: dict[str, Any] = {}


class Rendered(BaseModel):
    messages: list[dict[str, Any]]
    missing: list[str]


class PlaygroundPrompt(Strict):
    name: TemplateName
    version: Version | None = None


class PlaygroundRequest(Strict):
    """A bot answers a template: inline ``messages`` or a saved ``prompt``, exactly one."""

    bot: BotConfig
    variables: dict[str, Any] = {}
    messages: Annotated[list[PromptMessage], Field(min_length=1, max_length=200)] | None = None
    prompt: PlaygroundPrompt | None = None

    @model_validator(mode="after")
    def _one_source(self) -> PlaygroundRequest:
        if self.messages is not None and self.prompt is not None:
            raise ValueError("give either messages or prompt, not both messages and prompt")
        if self.messages is None and self.prompt is None:
            raise ValueError("give messages (inline template messages) or prompt (a saved one)")
        return self


# --- Prompt Lab --------------------------------------------------------------------------


class FixtureOut(BaseModel):
    name: str
    topic: str
    turns: int


LabSourceIn = Annotated[
    str | dict[str, Any],
    Field(description="a run id, a fixture's name, or a transcript JSON object"),
]
Variants = Annotated[int, Field(ge=1, le=MAX_VARIANTS)]


class RegenerateRequest(Strict):
    source: LabSourceIn
    turn: Annotated[int, Field(ge=0)]
    set: dict[str, Any] = {}
    variants: Variants = 1
    save_branch: bool = False


class ContinueRequest(Strict):
    source: LabSourceIn
    set: dict[str, Any] = {}
    variants: Variants = 1
    save_branch: bool = False
    user_message: Annotated[str, Field(min_length=1, max_length=MAX_INTERJECTION)] | None = None


class ManyRequest(Strict):
    """Several sources (and an experiment's runs), the same ``set`` on each."""

    sources: Annotated[list[LabSourceIn], Field(max_length=100)] = []
    experiment: Annotated[str, Field(max_length=64)] | None = None
    action: Literal["regenerate", "continue"] = "regenerate"
    turn: Annotated[int, Field(ge=0)] | None = None
    set: dict[str, Any] = {}


# One Server-Sent Event: ``data`` is one JSON object whose ``type`` names it
SSE_EVENT = {
    "type": "object",
    "properties": {
        "event": {"type": "string"},
        "id": {"type": "string"},
        "retry": {"type": "integer"},
        "data": {"type": "string", "contentMediaType": "application/json"},
    },
}
SSE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-Sent Events, one JSON object per event's data",
        "content": {"text/event-stream": {"schema": SSE_EVENT}},
    }
}


# --- tokens ------------------------------------------------------------------------------


class NewToken(Strict):
    name: Annotated[str, Field(max_length=100)] = ""
    user: Annotated[str, Field(max_length=200)] | None = Field(
        None, description="admins only: make the token for this account"
    )


class TokenOut(BaseModel):
    id: str
    user: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="the token itself: shown this once, kept only as a hash")


# --- experiments -------------------------------------------------------------------------


class EstimateOut(BaseModel):
    """At most how much the experiment uses (every reply at its max_tokens)."""

    runs: int
    turns: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    unpriced: list[str]


class BatchCreated(BaseModel):
    id: str
    runs: int
    estimate: EstimateOut


class BatchStatus(BaseModel):
    """Where an experiment stands (``batch status --json``)."""

    id: str
    name: str
    runs: int
    queued: int
    running: int
    done: int
    failed: int
    stopped: int
    cost_usd: float
    status: ExperimentStatus
    budget_usd: float | None
    unpriced_turns: int
    started_at: datetime | None
    finished_at: datetime | None
    eta_seconds: float | None
    judge_cost_usd: float = Field(0.0, description="of cost_usd, what judging its runs cost")


class BatchResume(Strict):
    budget_usd: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = Field(
        None, description="a new budget (after the old one stopped the experiment)"
    )


class CellOut(BaseModel):
    """One cell of the grid: its values and its runs' totals."""

    cell: dict[str, Any]
    runs: int
    turns: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    latency_ms: float | None
    statuses: dict[str, int]
    stop_reasons: dict[str, int]
    run_ids: list[str]
    judge_score: float | None = Field(None, description="mean judge score (1-10), if judged")
