"""The prompt library (named templates, immutable numbered versions) and the playground,
through ``Store.prompts`` and the Lab's own code: the same as ``python -m duet_core prompts``
and the Prompts page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from duet_api.deps import CallerDep, ServicesDep
from duet_api.lab_stream import experiment_response
from duet_api.schemas import (
    AUTH_ERRORS,
    SSE_RESPONSE,
    NewVersion,
    PlaygroundRequest,
    PromptSummaryOut,
    PromptVersionOut,
    Rendered,
    RenderRequest,
    errors,
)
from duet_core.lab.requests import playground_request
from duet_core.lab.variants import Experiment
from duet_core.logs import run_logger
from duet_core.models import MAX_VERSION, PromptRef
from duet_core.store.prompts import PromptVersion, check_messages
from duet_core.templates import missing_variables, render_messages

router = APIRouter(tags=["prompts"])
Name = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")]


def _out(found: PromptVersion) -> PromptVersionOut:
    return PromptVersionOut.model_validate(found.model_dump())


@router.get("/prompts", response_model=list[PromptSummaryOut], responses=errors(*AUTH_ERRORS))
def list_prompts(services: ServicesDep, caller: CallerDep) -> list[PromptSummaryOut]:
    """Every saved template with its latest version, by name."""
    return [
        PromptSummaryOut(
            name=s.name,
            version=s.latest_version,
            author=s.author,
            note=s.note,
            created_at=s.updated_at,
        )
        for s in services.store.prompts.list()
    ]


@router.get(
    "/prompts/{name}", response_model=PromptVersionOut, responses=errors(*AUTH_ERRORS, 404, 422)
)
def get_prompt(
    name: Name,
    services: ServicesDep,
    caller: CallerDep,
    version: Annotated[int | None, Query(ge=1, le=MAX_VERSION)] = None,
) -> PromptVersionOut:
    """A version of a template (the latest by default)."""
    return _out(services.store.prompts.get(name, version))


@router.post(
    "/prompts/{name}/versions",
    status_code=201,
    response_model=PromptVersionOut,
    responses={
        200: {"model": PromptVersionOut, "description": "unchanged: the latest version"},
        **errors(*AUTH_ERRORS, 422),
    },
)
def save_version(
    name: Name, body: NewVersion, response: Response, services: ServicesDep, caller: CallerDep
) -> PromptVersionOut:
    """Save the messages as the template's next version (201); messages equal to the latest
    version's create nothing and answer that version (200)."""
    found, created = services.store.prompts.save(
        name, body.messages, author=caller.username, note=body.note
    )
    if not created:
        response.status_code = 200
    return _out(found)


@router.post(
    "/prompts/{name}/render", response_model=Rendered, responses=errors(*AUTH_ERRORS, 404, 422)
)
def render(name: Name, body: RenderRequest, services: ServicesDep, caller: CallerDep) -> Rendered:
    """The template's messages with the variables filled in, and the variables it uses that
    were not given (they render as empty)."""
    found = services.store.prompts.get(name, body.version)
    return Rendered(
        messages=render_messages(found.message_dicts(), body.variables),
        missing=missing_variables(found.messages, body.variables),
    )


@router.post(
    "/playground",
    response_class=Response,
    responses={**SSE_RESPONSE, **errors(*AUTH_ERRORS, 404, 422)},
)
def playground(body: PlaygroundRequest, services: ServicesDep, caller: CallerDep) -> Response:
    """A bot answers a template (inline ``messages`` or a saved ``prompt``), streamed as the
    Lab's events. Writes nothing."""
    ref = None
    if body.prompt is not None:
        found = services.store.prompts.get(body.prompt.name, body.prompt.version)
        messages = found.messages
        ref = PromptRef(name=found.name, version=found.version)
    else:
        messages = check_messages(body.messages)
    request = playground_request(body.bot, messages, body.variables, ref)
    lab = Experiment(
        [request],
        services.providers.with_keys(None),
        services.prices,
        run_logger("playground", caller.username),
    )
    return experiment_response(lab, services.settings.sse_keepalive)
