"""Judging runs: one request per run (or per turn), its answer read strictly, scores stored.

    judge = resolve(load_judge("judge.yaml"), store.prompts)
    for outcome in judge_runs(store, [run_id], judge, services.providers.with_keys(None)):
        print(outcome.lines())

Each request goes through ``stream_turn`` (tokens, cost, the provider's errors as values) with
the judge's bot, asking for JSON where the provider can (``Provider.open_json``). An
``Outcome`` is either the stored ``Evaluation`` rows (one per criterion) or one line of error:
a provider error, an answer that is not valid JSON, a missing key, a score outside 1-10. An
error stores nothing.

Every run of an experiment (``judge_experiment``) is judged with the experiment's concurrency:
at most ``concurrency`` judge requests at once, through the batch code's per-provider limits
(``duet_core.batch.limits``: a 429 or overload slows the requests down rather than failing
them). The batch queue itself holds runs to run, not judgements, so the requests are spread over
a thread pool of that size; the judges' cost counts in the experiment's budget (no request is
sent once its runs and judges have spent it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from duet_core import catalog
from duet_core.batch.limits import PATIENCE, ProviderLimits, limited
from duet_core.errors import NotFound
from duet_core.evals.judge import Judge
from duet_core.evals.verdict import BadVerdict, parse_verdicts
from duet_core.models import BotConfig, Evaluation, Run, Turn, utcnow
from duet_core.providers.base import ChunkStream, Message, Provider
from duet_core.run.turn_stream import stream_turn
from duet_core.store import Store
from duet_core.store.experiments import ExperimentQueue
from duet_core.vocabulary import FinishReason, RunStatus

log = logging.getLogger("duet.evals")
ProviderFor = Callable[[BotConfig], Provider]


class JsonReplies(Provider):
    """``inner`` asked for a JSON reply fitting ``schema`` on every request: lets a provider
    factory (and the batch code's ``LimitedProvider`` around it) send judges' requests."""

    def __init__(self, inner: Provider, schema: dict[str, Any]):
        self.inner = inner
        self.schema = schema
        self.name = getattr(inner, "name", "json")

    def open(self, system: str, messages: list[Message], bot: BotConfig) -> ChunkStream:
        return self.inner.open_json(system, messages, bot, self.schema)


@dataclass
class Outcome:
    """One judge request's result: its evaluations (stored), or an error (nothing stored)."""

    run_id: str
    turn: int | None
    evaluations: list[Evaluation] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def lines(self) -> list[dict[str, Any]]:
        """``eval run --json``'s lines: ``{"run_id", "turn", "score", "reason"}`` per criterion
        (with ``judge`` and ``criterion``), or ``{"run_id", "turn", "error"}``."""
        if self.error is not None:
            return [{"run_id": self.run_id, "turn": self.turn, "error": self.error}]
        return [
            {
                "run_id": e.run_id,
                "turn": e.turn,
                "score": e.score,
                "reason": e.reason,
                "judge": e.judge,
                "criterion": e.criterion,
                "evaluation_id": e.id,
            }
            for e in self.evaluations
        ]


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def judge_once(
    judge: Judge,
    run: Run,
    turn: Turn | None,
    provider_for: ProviderFor,
    *,
    prices: catalog.PriceTable | None = None,
    who: str = "local",
    limits: ProviderLimits | None = None,
    patience: float = PATIENCE,
) -> Outcome:
    """Send one judge request about ``run`` (or its ``turn``) and read the answer; with
    ``limits``, the request waits for its provider's limit. Stores nothing; provider errors
    and bad answers come back as the outcome's error."""
    index = turn.index if turn is not None else None
    outcome = Outcome(run.id, index)
    system, messages = judge.request(run, turn)
    reply = Turn(index=0, bot_index=0, bot_name=judge.bot.name, config=judge.bot)

    def json_replies(bot: BotConfig) -> Provider:
        return JsonReplies(provider_for(bot), judge.schema)

    # the limit outside: LimitedProvider sends what its inner provider's open() sends
    factory = json_replies if limits is None else limited(json_replies, limits, patience)
    streamed = stream_turn(
        factory,
        system,
        messages,
        judge.bot,
        reply,
        prices=prices,
        log=log,
    )
    if streamed.failure is not None:
        outcome.error = _one_line(f"The judge's provider failed: {streamed.failure}")
        return outcome
    try:
        verdicts = parse_verdicts(
            reply.content, judge.criteria, cut_off=reply.finish_reason == FinishReason.LENGTH
        )
    except BadVerdict as e:
        outcome.error = _one_line(str(e))
        return outcome
    share = None if reply.cost_usd is None else round(reply.cost_usd / len(verdicts), 10)
    record = judge.record(run, turn)
    record["answer"] = reply.content
    now = utcnow()
    outcome.evaluations = [
        Evaluation(
            run_id=run.id,
            judge=judge.name,
            criterion=v.criterion,
            per=judge.per,
            turn=index,
            score=v.score,
            reason=v.reason,
            provider=judge.bot.provider,
            model=judge.bot.model,
            cost_usd=share,
            input_tokens=reply.input_tokens,
            output_tokens=reply.output_tokens,
            created_at=now,
            created_by=who,
            request=record,
        )
        for v in verdicts
    ]
    return outcome


@dataclass(frozen=True)
class Job:
    """One judge request to make: a run, and the turn when judging per turn."""

    run: Run
    turn: Turn | None


def jobs_for(judge: Judge, run: Run) -> tuple[list[Job], Outcome | None]:
    """The requests judging ``run`` takes (one, or one per bot turn), or an outcome saying why
    it cannot be judged (still running or queued, nothing said yet)."""
    status = RunStatus(run.status)
    if status.live or status == RunStatus.QUEUED:
        return [], Outcome(
            run.id, None, error=f"Run {run.id} is {status.value}: judge it once it ends"
        )
    bot_turns = [t for t in run.bot_turns if t.content.strip()]
    if not bot_turns:
        return [], Outcome(run.id, None, error=f"Run {run.id} has no turns to judge")
    if judge.per == "run":
        return [Job(run, None)], None
    return [Job(run, t) for t in bot_turns], None


def judge_runs(
    store: Store,
    run_ids: Sequence[str],
    judge: Judge,
    provider_for: ProviderFor,
    *,
    prices: catalog.PriceTable | None = None,
    who: str = "local",
    concurrency: int = 1,
    limits: ProviderLimits | None = None,
    patience: float = PATIENCE,
    budget: Callable[[], str | None] | None = None,
) -> Iterator[Outcome]:
    """Judge each run (each bot turn, per turn), storing every good outcome as it comes;
    yields the outcomes as they finish. At most ``concurrency`` requests at once; with
    ``limits``, each waits for its provider's backing-off limit. ``budget()`` is asked before
    each request: a line saying the money is spent makes that request an error, unsent."""
    pending: list[Job] = []
    for run_id in run_ids:
        run = store.get_run(run_id)
        if run is None:
            yield Outcome(run_id, None, error=f"No saved run with id '{run_id}'")
            continue
        jobs, refused = jobs_for(judge, run)
        if refused is not None:
            yield refused
        pending.extend(jobs)

    def work(job: Job) -> Outcome:
        spent = budget() if budget is not None else None
        if spent is not None:
            return Outcome(job.run.id, job.turn.index if job.turn else None, error=spent)
        outcome = judge_once(
            judge,
            job.run,
            job.turn,
            provider_for,
            prices=prices,
            who=who,
            limits=limits,
            patience=patience,
        )
        if outcome.ok:
            try:
                store.evaluations.add(outcome.evaluations)
            except NotFound as e:  # the run was deleted meanwhile
                outcome.evaluations, outcome.error = [], str(e)
        return outcome

    if concurrency <= 1:
        for job in pending:
            yield work(job)
        return
    yield from _pooled(work, pending, concurrency)


def _pooled(work: Callable[[Job], Outcome], jobs: Iterable[Job], size: int) -> Iterator[Outcome]:
    """``work`` over ``jobs`` on ``size`` threads, outcomes as they finish; a consumer that
    stops early (Ctrl-C) cancels the requests not yet started."""
    pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="duet-judge")
    queue = iter(jobs)
    running: set[Future[Outcome]] = set()
    try:
        for job in queue:  # never more queued than running: memory stays flat
            running.add(pool.submit(work, job))
            if len(running) >= size:
                done, running = _first(running)
                yield from (f.result() for f in done)
        while running:
            done, running = _first(running)
            yield from (f.result() for f in done)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _first(running: set[Future[Outcome]]) -> tuple[set[Future[Outcome]], set[Future[Outcome]]]:
    done, rest = wait(running, return_when=FIRST_COMPLETED)
    return set(done), set(rest)


def judge_experiment(
    store: Store,
    experiment_id: str,
    judge: Judge,
    provider_for: ProviderFor,
    *,
    prices: catalog.PriceTable | None = None,
    who: str = "local",
    patience: float = PATIENCE,
) -> Iterator[Outcome]:
    """Judge every run of an experiment with its concurrency, within its budget."""
    queue = ExperimentQueue(store)
    record = queue.get(experiment_id)
    if record is None:
        raise NotFound(f"No experiment {experiment_id}: list them to find its id.")

    def budget() -> str | None:
        if record.budget_usd is None:
            return None
        spent = queue.progress(experiment_id).cost_usd  # its runs' cost and its judges'

        if spent >= record.budget_usd:
            return (
                f"The experiment's budget (${record.budget_usd:g}) is spent (${spent:.4f} on "
                "runs and judges): resume it with a bigger budget to judge the rest"
            )
        return None

    concurrency = max(1, record.concurrency)
    yield from judge_runs(
        store,
        queue.run_ids(experiment_id),
        judge,
        provider_for,
        prices=prices,
        who=who,
        concurrency=concurrency,
        limits=ProviderLimits(concurrency),
        patience=patience,
        budget=budget,
    )
