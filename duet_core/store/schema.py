"""The tables: one row per run (with its aggregates), one row per turn.

Changing a table here needs a new numbered migration in ``migrations/versions``;
``tests/store/test_migrations.py`` fails while the two disagree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database.

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so values are stored as UTC
    and read back with ``tzinfo=UTC``. A naive datetime is taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    # named constraints, so later migrations can alter them (SQLite rebuilds tables by name)
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
        }
    )


class RunRow(Base):
    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    stop_reason: Mapped[str | None] = mapped_column(String(100))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)  # last turn or status change
    topic: Mapped[str] = mapped_column(Text)
    max_turns: Mapped[int] = mapped_column(Integer)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)  # the RunConfig at start
    # the two bots at start, copied out of ``config`` so lists can filter without parsing JSON
    bot0_name: Mapped[str] = mapped_column(String(100))
    bot0_provider: Mapped[str] = mapped_column(String(40))
    bot0_model: Mapped[str] = mapped_column(String(200))
    bot1_name: Mapped[str] = mapped_column(String(100))
    bot1_provider: Mapped[str] = mapped_column(String(40))
    bot1_model: Mapped[str] = mapped_column(String(200))
    # aggregates over the turns, kept up to date by Store.save_turn
    turn_count: Mapped[int] = mapped_column(Integer, default=0)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)  # sum of the known costs
    unpriced_turns: Mapped[int] = mapped_column(Integer, default=0)  # bot turns, cost unknown
    # a branch (Prompt Lab): the run it was forked from and the index of its first new turn;
    # no foreign key, so deleting a parent keeps its branches (and SQLite need not rebuild runs)
    parent_id: Mapped[str | None] = mapped_column(String(64))
    fork_turn: Mapped[int | None] = mapped_column(Integer)
    # the process running a live run, and until when (renewed while it lives; migration 0004)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # an experiment's run (migration 0007): its experiment, its place in the grid (the order
    # workers take the queue in) and its cell's values ({"topic", "bots[1].model", "repeat"});
    # no foreign key, like parent_id (SQLite would have to rebuild runs)
    experiment_id: Mapped[str | None] = mapped_column(String(16))
    experiment_index: Mapped[int | None] = mapped_column(Integer)
    experiment_cell: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))

    __table_args__ = (
        Index("ix_runs_created_at", "created_at", "id"),
        Index("ix_runs_experiment", "experiment_id", "status", "experiment_index"),
        Index("ix_runs_owner_created_at", "owner", "created_at"),
        Index("ix_runs_status_created_at", "status", "created_at"),
        Index("ix_runs_bot0_provider", "bot0_provider"),
        Index("ix_runs_bot1_provider", "bot1_provider"),
        Index("ix_runs_bot0_model", "bot0_model"),
        Index("ix_runs_bot1_model", "bot1_model"),
        Index("ix_runs_parent_id", "parent_id"),
    )


class TurnRow(Base):
    __tablename__ = "turns"

    run_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    bot_index: Mapped[int | None] = mapped_column(Integer)  # None: a person's interjection
    bot_name: Mapped[str] = mapped_column(String(100))
    provider: Mapped[str | None] = mapped_column(String(40))
    model: Mapped[str | None] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    thinking: Mapped[str] = mapped_column(Text)
    # the BotConfig this turn used; SQL NULL for a person's turn
    config: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ttft_ms: Mapped[float | None] = mapped_column(Float)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    input_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    cost_usd: Mapped[float | None] = mapped_column(Float)
    finish_reason: Mapped[str | None] = mapped_column(String(100))
    # the saved template behind the persona ({name, version, variables}); NULL when none
    prompt: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    # the exact messages sent to the provider (system first); NULL for a person's turn
    request_messages: Mapped[list[dict[str, str]] | None] = mapped_column(JSON(none_as_null=True))


class PromptTemplateRow(Base):
    """A named prompt template; its messages live in numbered, immutable versions."""

    __tablename__ = "prompt_templates"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    latest_version: Mapped[int] = mapped_column(Integer)


class PromptVersionRow(Base):
    __tablename__ = "prompt_versions"

    name: Mapped[str] = mapped_column(
        String(100), ForeignKey("prompt_templates.name", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    messages: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    author: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


runs = RunRow.__table__
turns = TurnRow.__table__
prompt_templates = PromptTemplateRow.__table__
prompt_versions = PromptVersionRow.__table__


class ApiTokenRow(Base):
    """A personal API token (docs/design.md, "HTTP API"): only its SHA-256 is kept; the token
    itself is shown once, when it is made. It acts as its account, with that account's role."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # "t..." (models.new_id)
    username: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_api_tokens_token_hash", "token_hash", unique=True),
        Index("ix_api_tokens_username", "username"),
    )


api_tokens = ApiTokenRow.__table__


class ExperimentRow(Base):
    """An experiment (docs/design.md, "Experiments (batches)"): its resolved file and its state;
    its runs are rows of ``runs`` with its id."""

    __tablename__ = "experiments"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # "x..." (models.new_id)
    name: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))  # vocabulary.ExperimentStatus
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)  # the file, base and topics read in
    concurrency: Mapped[int] = mapped_column(Integer)  # runs at once, over every worker
    budget_usd: Mapped[float | None] = mapped_column(Float)
    run_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # its first run claimed
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_experiments_status", "status"),
        Index("ix_experiments_owner_created_at", "owner", "created_at"),
    )


experiments = ExperimentRow.__table__


class EvaluationRow(Base):
    """A judge's score for a run or one of its turns (docs/design.md, "Evaluation"): one row
    per criterion of one answer, with the exact request, model and cost (migration 0008)."""

    __tablename__ = "evaluations"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # "e..." (models.new_id)
    run_id: Mapped[str] = mapped_column(String(64), ForeignKey("runs.id", ondelete="CASCADE"))
    judge: Mapped[str] = mapped_column(String(200))
    criterion: Mapped[str | None] = mapped_column(String(100))
    per: Mapped[str] = mapped_column(String(10))  # "run" | "turn"
    turn: Mapped[int | None] = mapped_column(Integer)  # the judged turn's index; NULL per run
    score: Mapped[int] = mapped_column(Integer)  # 1-10
    reason: Mapped[str] = mapped_column(Text)
    provider: Mapped[str | None] = mapped_column(String(40))
    model: Mapped[str | None] = mapped_column(String(200))
    request: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    cost_usd: Mapped[float | None] = mapped_column(Float)
    input_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))

    __table_args__ = (Index("ix_evaluations_run_id", "run_id", "turn"),)


class TurnRatingRow(Base):
    """A person's score for one turn (1-10), one per person and turn; rating again replaces it."""

    __tablename__ = "turn_ratings"

    run_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    turn: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    rater: Mapped[str] = mapped_column(String(200), primary_key=True)
    score: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class VoteRow(Base):
    """A person's blind pairwise vote between two runs, about one bot: which run's bot did
    better (``a``, ``b`` or ``tie``). The bot's model and persona in each run are kept as they
    were when the vote was cast, so the leaderboard reads votes alone. A vote between two
    Prompt Lab variants (not saved runs) has no runs; ``lab`` keeps what was compared."""

    __tablename__ = "votes"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # "v..." (models.new_id)
    run_a: Mapped[str | None] = mapped_column(String(64), ForeignKey("runs.id", ondelete="CASCADE"))
    run_b: Mapped[str | None] = mapped_column(String(64), ForeignKey("runs.id", ondelete="CASCADE"))
    bot_index: Mapped[int] = mapped_column(Integer)
    winner: Mapped[str] = mapped_column(String(4))  # "a" | "b" | "tie"
    model_a: Mapped[str] = mapped_column(String(200))
    model_b: Mapped[str] = mapped_column(String(200))
    persona_a: Mapped[str] = mapped_column(String(300))
    persona_b: Mapped[str] = mapped_column(String(300))
    voter: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lab: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))

    __table_args__ = (
        Index("ix_votes_run_a", "run_a"),
        Index("ix_votes_run_b", "run_b"),
    )


evaluations = EvaluationRow.__table__
turn_ratings = TurnRatingRow.__table__
votes = VoteRow.__table__


class RunContinueRow(Base):
    """A person continued a run (the page's Continue, the HTTP API, the command line): the
    runs-per-minute limit counts these with the runs they created, in every process sharing
    the database (migration 0010, ``0010_run_continues``)."""

    __tablename__ = "run_continues"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64), ForeignKey("runs.id", ondelete="CASCADE"))
    username: Mapped[str] = mapped_column(String(200))  # who continued it (the count is theirs)
    continued_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_run_continues_username_continued_at", "username", "continued_at"),
        Index("ix_run_continues_run_id", "run_id"),
    )


run_continues = RunContinueRow.__table__
