"""The product's nouns: BotConfig, RunConfig, Turn, Run. Validated at the edges with pydantic."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from duet_core import catalog, config_text
from duet_core.catalog import Effort, ProviderName
from duet_core.errors import ConfigError
from duet_core.templates import BUILTIN_VARIABLES, check_placeholders
from duet_core.vocabulary import RunStatus  # defined there, imported from here too

M = TypeVar("M", bound=BaseModel)
TEMPLATE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
MAX_VERSION = 2**31 - 1  # a template version fits every database's INTEGER


def utcnow() -> datetime:
    return datetime.now(UTC)


def id_from(prefix: str, bits: int) -> str:
    """An id: a letter prefix, then 11 hex digits of ``bits`` (44 bits).

    The letter keeps every id text wherever it goes: an id of digits only (one in 280 of plain
    hex ones) or hex such as ``12e45`` is read as a number by pandas and spreadsheets."""
    if not prefix[:1].isalpha():
        raise ValueError(f"an id prefix starts with a letter, not {prefix!r}")
    return f"{prefix}{bits & (1 << 44) - 1:011x}"


def new_id(prefix: str) -> str:
    """A new random id: ``r`` for runs, ``j`` for export jobs, ``x`` for experiments, ``t`` for
    API tokens, ``e`` for evaluations, ``v`` for votes. Ids made before the prefix (12 hex
    digits) keep working: an id is any text."""
    return id_from(prefix, secrets.randbits(44))


def new_run_id() -> str:
    return new_id("r")


class PromptMessage(BaseModel):
    """One message of a prompt template: ``system``, ``human`` or ``ai``, with placeholders."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["system", "human", "ai"]
    content: Annotated[str, Field(max_length=20_000)]


class PromptRef(BaseModel):
    """A saved template by name and version (None: the latest when the run starts), with the
    values of its variables."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=TEMPLATE_NAME)]
    version: Annotated[int, Field(ge=1, le=MAX_VERSION)] | None = None
    variables: dict[str, Any] = {}

    @property
    def label(self) -> str:
        """``name v3`` (``name latest`` before the version is pinned)."""
        return f"{self.name} v{self.version}" if self.version else f"{self.name} latest"


class BotConfig(BaseModel):
    """One bot's settings. Never holds an API key.

    The persona comes from at most one of ``system_prompt`` (text), ``persona`` (inline
    template messages) or ``prompt`` (a saved template); see ``duet_core.run.persona``.
    """

    # NaN or infinity is "not a number" for every knob, never "should be less than 2"
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: Annotated[str, Field(min_length=1, max_length=60)] = "Bot"
    provider: ProviderName = "demo"
    model: Annotated[str, Field(min_length=1, max_length=200)] = "duet-demo"
    system_prompt: Annotated[str, Field(max_length=20_000)] = ""
    persona: Annotated[list[PromptMessage], Field(min_length=1, max_length=200)] | None = None
    prompt: PromptRef | None = None
    temperature: Annotated[float, Field(ge=0.0, le=2.0)] | None = None
    top_p: Annotated[float, Field(gt=0.0, le=1.0)] | None = None
    max_tokens: Annotated[int, Field(ge=1, le=128_000)] = 512
    effort: Effort | None = None
    thinking_budget: Annotated[int, Field(ge=0, le=128_000)] = 0
    base_url: str | None = None
    avatar: Annotated[str, Field(max_length=16)] = "smart_toy"  # a Material icon name (the robot)
    context_tokens: Annotated[int, Field(ge=256)] | None = None  # overrides the catalog window

    @field_validator("name", "model")
    @classmethod
    def _strip(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("must not be blank")
        return v

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        v = v.strip()
        if not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v

    @model_validator(mode="after")
    def _one_persona_source(self) -> BotConfig:
        given = [
            name
            for name, on in (
                ("system_prompt", bool(self.system_prompt.strip())),
                ("persona", self.persona is not None),
                ("prompt", self.prompt is not None),
            )
            if on
        ]
        if len(given) > 1:
            raise ValueError(
                f"{self.name}: give the persona one way only, not both "
                f"{' and '.join(given)}; clear one of them"
            )
        if self.persona is not None:
            problems = check_placeholders(m.content for m in self.persona)
            if problems:
                raise ValueError(f"{self.name}: persona has {problems}")
        if self.prompt is not None:
            taken = sorted(set(self.prompt.variables) & set(BUILTIN_VARIABLES))
            if taken:
                raise ValueError(
                    f"{self.name}: {', '.join(taken)} {'is' if len(taken) == 1 else 'are'} "
                    "built in (filled by the run); give your variable another name"
                )
        return self

    @model_validator(mode="after")
    def _knobs_fit_the_model(self) -> BotConfig:
        k = catalog.knobs(self.provider, self.model)
        who = f"{self.name} ({self.provider} {self.model})"
        if self.temperature is not None and not k.temperature:
            raise ValueError(f"{who} does not take temperature: {k.reason}")
        if self.top_p is not None and not k.top_p:
            raise ValueError(f"{who} does not take top_p: {k.reason}")
        if self.effort is not None and self.effort not in k.effort:
            allowed = ", ".join(k.effort) if k.effort else "none (this model takes no effort)"
            raise ValueError(f"{who}: effort must be one of {allowed}")
        if self.thinking_budget:
            if not k.thinking:
                raise ValueError(f"{who} does not take a thinking budget")
            if self.thinking_budget < 1024 or self.thinking_budget >= self.max_tokens:
                raise ValueError(
                    f"{who}: thinking budget must be at least 1024 and below max_tokens"
                    f" ({self.max_tokens}), or 0 to turn thinking off"
                )
        if self.provider == "openai_compatible" and not self.base_url:
            raise ValueError(
                f"{who}: set base_url to the server, e.g. http://localhost:11434/v1 for Ollama"
            )
        return self

    @property
    def context_window(self) -> int:
        return self.context_tokens or catalog.context_window(self.provider, self.model)

    def changes_from(self, old: BotConfig) -> list[tuple[str, Any, Any]]:
        """(field, old, new) for each setting that differs from ``old``."""
        a, b = old.model_dump(), self.model_dump()
        return [(f, a[f], b[f]) for f in b if a[f] != b[f]]


MAX_RUN_SECONDS = 7 * 24 * 3600  # a run's max_seconds: at most a week


class RunConfig(BaseModel):
    """Everything needed to start a run: the same schema the UI saves and loads."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    topic: Annotated[str, Field(min_length=1, max_length=20_000)]
    max_turns: Annotated[int, Field(ge=1, le=1000)] = 10
    first_speaker: Annotated[int, Field(ge=0, le=1)] = 0
    bots: Annotated[list[BotConfig], Field(min_length=2, max_length=2)]
    stop_phrases: list[Annotated[str, Field(min_length=1, max_length=200)]] = []
    max_total_tokens: Annotated[int, Field(ge=1)] | None = None
    max_cost_usd: Annotated[float, Field(gt=0)] | None = None
    # seconds of running (pauses not counted) before the run ends, even mid-turn
    max_seconds: Annotated[float, Field(gt=0, le=MAX_RUN_SECONDS)] | None = None
    # loop detection: a bot reply near-identical to one of the last ``loop_window`` replies
    # (word-trigram Jaccard similarity >= ``loop_similarity``; equal text always) ends the run
    # with reason ``loop``; 0 turns it off
    loop_window: Annotated[int, Field(ge=0, le=50)] = 0
    loop_similarity: Annotated[float, Field(ge=0.5, le=1.0)] = 0.9

    @field_validator("topic")
    @classmethod
    def _topic(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("give the bots a topic to talk about")
        return v

    @field_validator("stop_phrases", mode="before")
    @classmethod
    def _phrases(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = v.splitlines()
        if isinstance(v, list):
            return [p.strip() for p in v if isinstance(p, str) and p.strip()] + [
                p for p in v if not isinstance(p, str)
            ]
        return v

    @classmethod
    def from_file(cls, path: str | Path) -> RunConfig:
        path = Path(path)
        try:
            raw = path.read_bytes()
        except OSError as e:
            raise ConfigError(f"Cannot read {path}: {e.strerror or e}") from None
        text = config_text.decode(raw, str(path))
        return cls.from_text(text, yaml_format=path.suffix.lower() in (".yaml", ".yml"))

    @classmethod
    def from_text(cls, text: str, yaml_format: bool = False) -> RunConfig:
        """A config a person wrote: strict types (``max_turns: yes`` or ``2.5`` is refused)."""
        return validated(cls, config_text.parse(text, yaml_format), strict=True)

    def dump_json(self) -> str:
        return self.model_dump_json(indent=2, exclude_none=True)


def describe_validation_error(e: ValidationError) -> str:
    """One readable line per problem: 'bots.1.temperature: Input should be ...'."""
    parts = []
    for err in e.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def validated(model: type[M], data: Any, strict: bool | None = None) -> M:
    """``model.model_validate(data)`` raising ConfigError with a readable message."""
    try:
        return model.model_validate(data, strict=strict)
    except ValidationError as e:
        raise ConfigError(describe_validation_error(e)) from None


PERSON = None  # bot_index of a turn written by a person (an interjection)


class Turn(BaseModel):
    """One message in a run: a bot's reply or a person's interjection (``bot_index`` None)."""

    index: int
    bot_index: int | None
    bot_name: str
    content: str = ""
    thinking: str = ""
    config: BotConfig | None = None  # the exact settings this turn used
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    ttft_ms: float | None = None
    latency_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    finish_reason: str | None = None  # a vocabulary.FinishReason, or a provider's own word
    # the saved template (name, pinned version, variables) behind this turn's persona, if any
    prompt: PromptRef | None = None
    # the exact messages sent to the provider: a first ``system`` message (when there is a
    # system prompt), then ``user``/``assistant``; None for a person's turn
    request_messages: list[dict[str, str]] | None = None

    @property
    def by_person(self) -> bool:
        return self.bot_index is None

    @property
    def provider(self) -> str | None:
        return self.config.provider if self.config else None

    @property
    def model(self) -> str | None:
        return self.config.model if self.config else None

    @property
    def temperature(self) -> float | None:
        return self.config.temperature if self.config else None


# What a turn's config tells about it: stored and exported beside the turn's own fields.
TURN_CONFIG_FIELDS = ("provider", "model", "temperature")
# Every field of a turn as the store and the exports see it, in the transcript's order: the
# model's own fields, the config-derived ones after ``bot_name``, and what the request was
# made from right after ``config``. The one list: store rows, transcript JSON and CSV rows
# are derived from it.
_own = [f for f in Turn.model_fields if f not in ("prompt", "request_messages")]
_at = _own.index("bot_name") + 1
TURN_FIELDS: tuple[str, ...] = (*_own[:_at], *TURN_CONFIG_FIELDS, *_own[_at:])
_at = TURN_FIELDS.index("config") + 1
TURN_FIELDS = (*TURN_FIELDS[:_at], "prompt", "request_messages", *TURN_FIELDS[_at:])
assert set(TURN_FIELDS) == {*Turn.model_fields, *TURN_CONFIG_FIELDS}
del _own, _at


class Evaluation(BaseModel):
    """A judge's score for a run, or for one of its turns (``duet_core.evals``): one criterion
    of one judge's answer, with what was sent (``request``: stored, left out of the transcript)
    and its cost (a request's cost shared among the criteria it scored)."""

    id: str = Field(default_factory=lambda: new_id("e"))
    run_id: str
    judge: str
    criterion: str | None = None  # one of the rubric's named criteria; None: the only score
    per: Literal["run", "turn"] = "run"
    turn: int | None = None  # the judged turn's index (per turn); None for the whole run
    score: Annotated[int, Field(ge=1, le=10)]
    reason: str = ""
    provider: str | None = None
    model: str | None = None
    cost_usd: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    created_at: datetime = Field(default_factory=utcnow)
    created_by: str = "local"
    request: dict[str, Any] | None = None


class Run(BaseModel):
    id: str = Field(default_factory=new_run_id)
    owner: str = "local"
    config: RunConfig
    status: RunStatus = RunStatus.RUNNING
    stop_reason: str | None = None  # a vocabulary.StopReason
    error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    turns: list[Turn] = []
    parent_id: str | None = None  # a branch: the run it was forked from
    fork_turn: int | None = None  # a branch: the index of its first new turn
    experiment_id: str | None = None  # an experiment's run (duet_core/batch)
    experiment_cell: dict[str, Any] | None = None  # its cell's values, with its repeat
    evaluations: list[Evaluation] = []  # judges' scores (read with the run from the store)

    @property
    def bot_turns(self) -> list[Turn]:
        return [t for t in self.turns if not t.by_person]

    def bots_before(self, index: int | None = None) -> tuple[BotConfig, BotConfig]:
        """The settings each bot had used by turn ``index`` (all turns when None): its last
        turn's, or its configured ones before it spoke. (A live run's fold, ``RunState``, keeps
        the same answer up to date event by event.)"""
        bots = list(self.config.bots)
        for turn in self.turns:
            if index is not None and turn.index >= index:
                continue
            if turn.config is not None and turn.bot_index is not None:
                bots[turn.bot_index] = turn.config
        return bots[0], bots[1]

    def bots_in_use(self) -> tuple[BotConfig, BotConfig]:
        """The settings each bot used on its last turn (its configured ones before it spoke)."""
        return self.bots_before()

    @property
    def next_speaker(self) -> int:
        """The bot that speaks next: the first speaker, then they alternate (a person's
        interjections do not count)."""
        bot_turns = self.bot_turns
        if not bot_turns:
            return self.config.first_speaker
        return 1 - bot_turns[-1].bot_index  # type: ignore[operator]

    @property
    def total_tokens(self) -> int:
        return sum((t.input_tokens or 0) + (t.output_tokens or 0) for t in self.turns)

    @property
    def total_cost_usd(self) -> float | None:
        """The bots' turns' cost; None when any of them is unknown."""
        costs = [t.cost_usd for t in self.bot_turns]
        if any(c is None for c in costs):
            return None
        return round(sum(costs), 8)  # type: ignore[arg-type]
