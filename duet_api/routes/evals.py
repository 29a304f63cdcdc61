"""Evaluation over HTTP (docs/design.md, "Evaluation"): judge a run or every run of an
experiment, vote between two runs, rate a turn, read the leaderboard. The same core functions as
``python -m duet_core eval`` (``duet_core.evals``); this router's bodies live here with it.

A caller judges, votes on and rates only runs they may see (another user's run reads as
missing, 404); judges use the server's keys, as runs do. The leaderboard is everyone's votes
(names of models or personas and counts, never runs); ``batch=ID`` narrows it to an experiment
the caller may see.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from duet_api.deps import CallerDep, ServicesDep, find_run
from duet_api.schemas import AUTH_ERRORS, Strict, errors
from duet_core.batch import control
from duet_core.errors import ConfigError
from duet_core.evals.judge import JudgeSpec, resolve
from duet_core.evals.judging import judge_experiment, judge_runs
from duet_core.evals.leaderboard import ROUNDS, leaderboard
from duet_core.evals.votes import cast_vote, rate_turn
from duet_core.store.prompts import PromptNotFound

router = APIRouter(tags=["evaluation"])
RunId = Annotated[str, Field(min_length=1, max_length=64)]


class EvalRequest(Strict):
    """Exactly one of ``run_id`` and ``batch``, and the judge (a judge file's content)."""

    run_id: RunId | None = None
    batch: Annotated[str, Field(min_length=1, max_length=16)] | None = None
    judge: JudgeSpec

    @model_validator(mode="after")
    def _one_target(self) -> EvalRequest:
        if (self.run_id is None) == (self.batch is None):
            raise ValueError("give run_id (one run) or batch (every run of an experiment)")
        return self


class EvalLine(BaseModel):
    """One evaluation (``score``, ``reason``, ...) or one failed request (``error``)."""

    model_config = ConfigDict(extra="allow")

    run_id: str
    turn: int | None
    score: int | None = None
    reason: str | None = None
    error: str | None = None


class EvalResult(BaseModel):
    judge: str
    judged: int  # requests whose scores were stored
    failed: int  # requests that stored nothing (their errors are in results)
    results: list[EvalLine]


class VoteRequest(Strict):
    run_a: RunId
    run_b: RunId
    winner: Literal["a", "b", "tie"]
    bot: Literal[0, 1] | None = None  # default: the bot whose settings differ


class VoteOut(BaseModel):
    id: str
    run_a: str
    run_b: str
    bot_index: int
    winner: str
    model_a: str
    model_b: str
    persona_a: str
    persona_b: str
    voter: str
    created_at: str


class RatingRequest(Strict):
    run_id: RunId
    turn: Annotated[int, Field(ge=0)]
    score: Annotated[int, Field(ge=1, le=10)]
    note: Annotated[str, Field(max_length=2000)] = ""


class RatingOut(BaseModel):
    run_id: str
    turn: int
    rater: str
    score: int
    note: str
    created_at: str


class StandingOut(BaseModel):
    name: str
    rating: float
    ci_low: float
    ci_high: float
    wins: int
    losses: int
    ties: int


@router.post("/eval", response_model=EvalResult, responses=errors(*AUTH_ERRORS, 404, 422))
def evaluate(body: EvalRequest, services: ServicesDep, caller: CallerDep) -> EvalResult:
    """Judge a saved run (each bot turn, per turn), or every run of an experiment with its
    concurrency and within its budget. Answers when every request is done; a failed request
    stores nothing and is one line of ``error``."""
    try:
        judge = resolve(body.judge, services.store.prompts)
    except PromptNotFound as e:  # the body names a rubric that is not saved: invalid input
        raise ConfigError(str(e)) from None
    common: dict[str, Any] = {"prices": services.prices, "who": caller.username}
    provider_for = services.providers.with_keys(None)
    if body.batch is not None:
        control.get(services.store, body.batch, caller.username, caller.is_admin)
        outcomes = judge_experiment(services.store, body.batch, judge, provider_for, **common)
    else:
        assert body.run_id is not None
        find_run(services, caller, body.run_id)
        outcomes = judge_runs(services.store, [body.run_id], judge, provider_for, **common)
    judged = failed = 0
    lines: list[dict[str, Any]] = []
    for outcome in outcomes:
        judged, failed = judged + outcome.ok, failed + (not outcome.ok)
        lines += outcome.lines()
    return EvalResult(
        judge=judge.name,
        judged=judged,
        failed=failed,
        results=[EvalLine.model_validate(x) for x in lines],
    )


@router.post(
    "/votes", status_code=201, response_model=VoteOut, responses=errors(*AUTH_ERRORS, 404, 422)
)
def vote(body: VoteRequest, services: ServicesDep, caller: CallerDep) -> VoteOut:
    """A blind pairwise vote: which run's bot did better (about ``bot``, by default the one
    whose settings differ between the two runs)."""
    for run_id in (body.run_a, body.run_b):
        find_run(services, caller, run_id)
    saved = cast_vote(
        services.store, body.run_a, body.run_b, body.winner, caller.username, body.bot
    )
    return VoteOut.model_validate(saved.as_json())


@router.post(
    "/ratings",
    status_code=201,
    response_model=RatingOut,
    responses=errors(*AUTH_ERRORS, 404, 422),
)
def rate(body: RatingRequest, services: ServicesDep, caller: CallerDep) -> RatingOut:
    """Your score (1-10) for one turn of a run; rating it again replaces yours."""
    find_run(services, caller, body.run_id)
    saved = rate_turn(
        services.store, body.run_id, body.turn, body.score, caller.username, body.note
    )
    return RatingOut.model_validate(saved.as_json())


@router.get(
    "/leaderboard", response_model=list[StandingOut], responses=errors(*AUTH_ERRORS, 404, 422)
)
def get_leaderboard(
    services: ServicesDep,
    caller: CallerDep,
    by: Literal["model", "persona"] = "model",
    batch: Annotated[str | None, Query(max_length=16)] = None,
    topic: Annotated[str | None, Query(max_length=20_000)] = None,
    rounds: Annotated[int, Query(ge=0, le=10_000)] = ROUNDS,
) -> list[StandingOut]:
    """Models (or personas) ranked from pairwise votes: Bradley-Terry ratings with 95%
    bootstrap intervals, wins, losses and ties, best first."""
    if batch is not None:
        control.get(services.store, batch, caller.username, caller.is_admin)
    votes = services.store.evaluations.votes(experiment_id=batch, topic=topic)
    return [
        StandingOut.model_validate(s.as_json()) for s in leaderboard(votes, by=by, rounds=rounds)
    ]
