"""Runs: start, list, read, steer (bot settings, pause, resume, interject), stop and export,
through the process's ``RunManager``: a run started here is the same run the conversation page
shows, and a change made on either reaches the other."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, Response

from duet_api.deps import CallerDep, ServicesDep, find_run
from duet_api.schemas import (
    AUTH_ERRORS,
    EXPORT_MEDIA,
    BotPatch,
    ExportFormat,
    Interjection,
    RunControl,
    RunStarted,
    Transcript,
    errors,
)
from duet_core.errors import ConfigError, Conflict
from duet_core.exports.transcript import transcript_dict, turns_csv
from duet_core.models import BotConfig, Run, RunConfig
from duet_core.run.engine import LiveRun
from duet_core.store import RunPage, RunQuery
from duet_core.store.prompts import PromptNotFound
from duet_core.vocabulary import RunStatus

router = APIRouter(tags=["runs"])
RunId = Annotated[str, Path(min_length=1, max_length=200)]
STOP_WAIT = 2.0  # seconds a stop waits for the run to say it stopped before answering


def _elsewhere(run: Run) -> Conflict:
    return Conflict(
        f"Run {run.id} is running in another Duet process sharing this database;"
        " steer it from there."
    )


def _live(live: LiveRun | None, run: Run, action: str) -> LiveRun:
    """The run's live object, when it is still going in this process; 409 otherwise."""
    if live is None and run.status.live:
        raise _elsewhere(run)
    if live is None or not live.status.live:
        raise Conflict(f"Run {run.id} has ended ({run.status.value}); cannot {action} it now.")
    return live


@contextmanager
def missing_template_is_invalid() -> Iterator[None]:
    """A config naming a template (or version) that is not saved is a bad config (422), not a
    missing resource: the path named was found."""
    try:
        yield
    except PromptNotFound as e:
        raise ConfigError(e.message) from None


def _control(live: LiveRun) -> RunControl:
    return RunControl(id=live.id, status=live.status, pause_requested=live.pause_requested)


@router.post(
    "/run",
    status_code=201,
    response_model=RunStarted,
    responses=errors(*AUTH_ERRORS, 422, 429, 503),
)
def start_run(config: RunConfig, services: ServicesDep, caller: CallerDep) -> RunStarted:
    """Start a run (the body is a run config, as in config files). 429 with ``Retry-After``
    past ``DUET_RUNS_PER_MINUTE``; 503 when this process runs ``DUET_MAX_ACTIVE_RUNS``."""
    with missing_template_is_invalid():
        live = services.manager.start(
            config, caller.username, rate_limited=not services.settings.dev_mode
        )
    return RunStarted(id=live.id, status=RunStatus.RUNNING)


@router.get("/runs", response_model=RunPage, responses=errors(*AUTH_ERRORS, 422))
def list_runs(
    services: ServicesDep,
    caller: CallerDep,
    status: Annotated[list[RunStatus] | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> RunPage:
    """The caller's runs (an admin's: everyone's), newest first."""
    query = RunQuery(
        owner=None if caller.is_admin else caller.username,
        statuses=status or [],
        search=q,
        limit=limit,
        offset=offset,
    )
    return services.store.list_runs(query)


@router.get(
    "/run/{run_id}",
    response_model=Transcript,
    response_model_by_alias=True,
    responses=errors(*AUTH_ERRORS, 404),
)
def get_run(run_id: RunId, services: ServicesDep, caller: CallerDep) -> JSONResponse:
    """The run's transcript JSON so far (final, or partial while it runs)."""
    _, run = find_run(services, caller, run_id)
    return JSONResponse(transcript_dict(run))  # as exported, byte for byte in its values


@router.patch(
    "/run/{run_id}/bot/{bot_index}",
    response_model=BotConfig,
    responses=errors(*AUTH_ERRORS, 404, 409, 422),
)
def update_bot(
    run_id: RunId,
    bot_index: Annotated[int, Path(ge=0, le=1)],
    changes: BotPatch,  # type: ignore[valid-type]
    services: ServicesDep,
    caller: CallerDep,
) -> BotConfig:
    """Change some of a bot's settings; they apply from that bot's next turn (as a change on
    the page does). Answers the bot's settings for its next turn."""
    live, run = find_run(services, caller, run_id)
    live = _live(live, run, "change a bot of")
    given = changes.model_dump(exclude_unset=True)  # type: ignore[attr-defined]
    if not given:
        return live.bots()[bot_index]
    with missing_template_is_invalid():
        return live.update_bot(bot_index, given)


@router.post(
    "/run/{run_id}/stop", response_model=RunControl, responses=errors(*AUTH_ERRORS, 404, 409)
)
def stop_run(run_id: RunId, services: ServicesDep, caller: CallerDep) -> RunControl:
    """Stop the run now (the turn being written is kept as it is); stopping an ended run
    changes nothing."""
    live, run = find_run(services, caller, run_id)
    if live is None:
        if run.status.live:
            raise _elsewhere(run)
        return RunControl(id=run.id, status=run.status)
    live.stop()
    live.join(STOP_WAIT)
    return _control(live)


@router.post(
    "/run/{run_id}/pause", response_model=RunControl, responses=errors(*AUTH_ERRORS, 404, 409)
)
def pause_run(run_id: RunId, services: ServicesDep, caller: CallerDep) -> RunControl:
    """Pause after the turn being written."""
    live, run = find_run(services, caller, run_id)
    live = _live(live, run, "pause")
    live.pause()
    return _control(live)


@router.post(
    "/run/{run_id}/resume", response_model=RunControl, responses=errors(*AUTH_ERRORS, 404, 409)
)
def resume_run(run_id: RunId, services: ServicesDep, caller: CallerDep) -> RunControl:
    live, run = find_run(services, caller, run_id)
    live = _live(live, run, "resume")
    live.resume()
    return _control(live)


@router.post(
    "/run/{run_id}/interject",
    response_model=RunControl,
    responses=errors(*AUTH_ERRORS, 404, 409, 422),
)
def interject(
    run_id: RunId, body: Interjection, services: ServicesDep, caller: CallerDep
) -> RunControl:
    """A message from the caller joins the conversation before the next turn."""
    live, run = find_run(services, caller, run_id)
    live = _live(live, run, "interject in")
    live.interject(body.text, author=caller.name)
    return _control(live)


@router.get(
    "/export/{run_id}.{fmt}",
    response_class=Response,
    responses={
        200: {"content": {m.split(";")[0]: {} for m in EXPORT_MEDIA.values()}},
        **errors(*AUTH_ERRORS, 404, 422),
    },
)
def export_run(
    run_id: RunId,
    fmt: ExportFormat,
    services: ServicesDep,
    caller: CallerDep,
    spreadsheet_safe: bool = False,
) -> Response:
    """The run as a file (final, or partial while it runs): JSON, CSV (``spreadsheet_safe=1``
    neutralises cells a spreadsheet would run as a formula), training JSONL, Markdown or PDF."""
    _, run = find_run(services, caller, run_id)
    if fmt is ExportFormat.pdf:
        from duet_core.exports.pdf import transcript_pdf  # WeasyPrint loads only for a PDF

        content: bytes = transcript_pdf(run)
    elif fmt is ExportFormat.csv:
        content = turns_csv([run], spreadsheet_safe=spreadsheet_safe).encode()
    else:
        from duet_core.exports.transcript import export_text

        content = export_text(run, f".{fmt.value}").encode()
    name = f"duet-{run.id}.{fmt.value}"
    return Response(
        content,
        media_type=EXPORT_MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
