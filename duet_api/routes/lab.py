"""The Prompt Lab for programs (facilitators and admins): fixtures, regenerate a turn,
continue a conversation, save a variant as a branch, or try one set of settings on many
conversations (``/promptlab/many``). The same core as the Lab page and
``python -m duet_core lab``; nothing is written unless ``save_branch`` is asked for."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from fastapi.responses import JSONResponse

from duet_api.deps import Caller, LabCaller, ServicesDep
from duet_api.lab_stream import experiment_response
from duet_api.schemas import (
    AUTH_ERRORS,
    SSE_RESPONSE,
    ContinueRequest,
    FixtureOut,
    ManyRequest,
    RegenerateRequest,
    Transcript,
    errors,
)
from duet_core.errors import ConfigError, NotFound
from duet_core.exports.transcript import transcript_dict
from duet_core.lab import many, sources
from duet_core.lab import requests as lab
from duet_core.lab.edits import edits_from_mapping
from duet_core.lab.summary import summary_rows
from duet_core.logs import run_logger
from duet_core.services import Services

router = APIRouter(prefix="/promptlab", tags=["prompt lab"])


def _fixture_name(name: str, services: Services) -> str:
    """``name`` as a fixture's file name, when there is such a fixture (``.json`` optional)."""
    directory = sources.fixtures_dir(services.settings)
    names = sources.list_fixtures(directory)
    for candidate in (name, f"{name}.json"):
        if candidate in names:
            return candidate
    raise NotFound(f"No fixture {name!r}; list them with GET /api/promptlab/fixtures.")


@router.get("/fixtures", response_model=list[FixtureOut], responses=errors(*AUTH_ERRORS))
def list_fixtures(services: ServicesDep, caller: LabCaller) -> list[FixtureOut]:
    """The fixture transcripts in ``DUET_FIXTURES_DIR``."""
    directory = sources.fixtures_dir(services.settings)
    out = []
    for name in sources.list_fixtures(directory):
        try:
            run = sources.load_fixture(name, directory).run
        except ConfigError:  # a file that is not a transcript is left out
            continue
        out.append(FixtureOut(name=name, topic=run.config.topic, turns=len(run.turns)))
    return out


@router.get(
    "/fixtures/{name}",
    response_model=Transcript,
    response_model_by_alias=True,
    responses=errors(*AUTH_ERRORS, 404),
)
def get_fixture(
    name: Annotated[str, Path(max_length=200)], services: ServicesDep, caller: LabCaller
) -> JSONResponse:
    """A fixture's transcript JSON."""
    found = _fixture_name(name, services)
    directory = sources.fixtures_dir(services.settings)
    return JSONResponse(transcript_dict(sources.load_fixture(found, directory).run))


def _source(source: str | dict[str, Any], services: Services, caller: Caller) -> sources.LabSource:
    """A run id the caller may see, a fixture's name, or a transcript object."""
    if isinstance(source, dict):
        run = sources.read_transcript(json.dumps(source))
        return sources.LabSource(run, "upload", "transcript")
    try:
        name = _fixture_name(source, services)
    except NotFound:
        return sources.load_run(services.store, source, caller.username, caller.is_admin)
    return sources.load_fixture(name, sources.fixtures_dir(services.settings))


def _stream(
    requests: list[lab.LabRequest],
    source: sources.LabSource,
    save_branch: bool,
    services: Services,
    caller: Caller,
) -> Response:
    experiment = lab.Experiment(
        requests,
        services.providers.with_keys(None),
        services.prices,
        run_logger(source.run.id, caller.username),
    )

    def branch(done: lab.Experiment) -> list[dict[str, Any]]:
        if not save_branch:
            return []
        first = done.variants[0]
        if first.error is not None or first.turn is None:
            return [
                {"type": "error", "variant": 0, "message": "Variant 0 failed: no branch saved."}
            ]
        saved = lab.save_branch(services.store, source, first.turn, owner=caller.username)
        return [{"type": "branch", "run_id": saved.id}]

    return experiment_response(experiment, services.settings.sse_keepalive, branch)


@router.post(
    "/regenerate",
    response_class=Response,
    responses={**SSE_RESPONSE, **errors(*AUTH_ERRORS, 404, 422)},
)
def regenerate(body: RegenerateRequest, services: ServicesDep, caller: LabCaller) -> Response:
    """Turn ``turn`` again by the bot that wrote it, seeing what it saw then, with the
    settings in ``set``; 1 to 4 variants at once, streamed."""
    source = _source(body.source, services, caller)
    edits = edits_from_mapping(body.set)
    request = lab.regenerate_request(source.run, body.turn, edits, services.store.prompts)
    return _stream([request] * body.variants, source, body.save_branch, services, caller)


@router.post(
    "/continue",
    response_class=Response,
    responses={**SSE_RESPONSE, **errors(*AUTH_ERRORS, 404, 422)},
)
def continue_(body: ContinueRequest, services: ServicesDep, caller: LabCaller) -> Response:
    """One more turn after the last, by the bot whose turn is next; with ``user_message``,
    the caller's message comes first and the bot answers it."""
    source = _source(body.source, services, caller)
    if body.user_message is not None:
        run = lab.with_user_message(source.run, body.user_message, caller.name)
        source = sources.LabSource(run, source.kind, source.label)
    edits = edits_from_mapping(body.set)
    request = lab.continue_request(source.run, edits, services.store.prompts)
    return _stream([request] * body.variants, source, body.save_branch, services, caller)


@router.post(
    "/many",
    response_class=Response,
    responses={**SSE_RESPONSE, **errors(*AUTH_ERRORS, 404, 422)},
)
def many_conversations(body: ManyRequest, services: ServicesDep, caller: LabCaller) -> Response:
    """Regenerate turn ``turn`` of each source (or continue each) with the settings in
    ``set``, up to 10 at once, streamed: each event's ``variant`` is the source's place in
    the list (then the experiment's runs); a last ``{"type": "summary", "rows"}`` gives each
    source's figures and the "All" row. Writes nothing."""
    found = [_source(s, services, caller) for s in body.sources]
    if body.experiment:
        found += many.experiment_sources(
            services.store, body.experiment, caller.username, caller.is_admin
        )
    cells = many.plan(
        many.unique(found),
        body.action,
        body.turn,
        edits_from_mapping(body.set),
        services.store.prompts,
    )
    grid = many.ManyExperiment(
        cells,
        services.providers.with_keys(None),
        services.prices,
        run_logger(cells[0].source.run.id, caller.username),
    )

    def summary(done: Any) -> list[dict[str, Any]]:
        return [{"type": "summary", "rows": summary_rows(grid)}]

    return experiment_response(grid, services.settings.sse_keepalive, summary)  # type: ignore[arg-type]
