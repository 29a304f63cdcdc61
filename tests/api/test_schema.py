"""Schemathesis fuzzes the served API from its own OpenAPI schema (``/api/openapi.json``):
no answer is a 5xx, and every answer matches the schema (status, content type, headers, body).

Bounded: a few examples per operation (``DUET_FUZZ_EXAMPLES``, default 6), every provider the
scripted one (no network), runs capped at two turns."""

from __future__ import annotations

import itertools
import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from duet_core.providers.scripted import Hold
from tests.api.conftest import Api, run_config

EXAMPLES = int(os.environ.get("DUET_FUZZ_EXAMPLES", "5"))
# No 5xx, and every answer as the schema says. Not "schema-valid data is accepted": a run
# config's rules across fields (which knobs a model takes, one persona source) are checked by
# the core and answered with a 422 that names them, which the schema cannot express.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "max_turns": 2,
        "max_active_runs": 10_000,
        "runs_per_minute": 1_000_000,
        "max_experiment_runs": 4,  # fuzzed experiments stay small (the server's worker runs them)
    }


def test_the_api_matches_its_schema(api: Api):
    """Each operation in turn, from a schema loaded over HTTP (schemathesis's lazy pytest
    loader does not run under pytest 9, so the operations are driven with ``given`` here):
    data that fits the schema and data that does not, at made-up ids and at real ones (a live
    run, a saved template, a fixture)."""
    api.services.providers.scripted_only = True
    api.scripted.default = "A short reply."
    auth = {"Authorization": f"Bearer {api.token('root')}"}
    root = api.client("root")
    held = Hold()
    api.scripted.enqueue(["Held", held])
    live = root.post("/run", json=run_config(turns=2)).json()["id"]
    assert held.reached.wait(5)
    root.post("/prompts/critic/versions", json={"messages": [{"role": "human", "content": "Hi"}]})
    real = {"run_id": live, "name": "critic", "token_id": "tnothing"}
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json", headers=auth)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    failures: dict[str, str] = {}
    statuses: dict[str, set[int]] = {}

    for operation, mode, at_real_ids in itertools.product(
        operations, list(GenerationMode), (False, True)
    ):
        names = {p.name for p in operation.path_parameters}
        if at_real_ids and not names:
            continue
        given_ids = {k: v for k, v in real.items() if k in names} if at_real_ids else {}
        if operation.path == "/promptlab/fixtures/{name}" and at_real_ids:
            given_ids = {"name": "cars-in-cities-demo"}
        strategy = operation.as_strategy(mode, path_parameters=given_ids or None)

        @given(case=strategy)
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case) -> None:
            r = case.call_and_validate(base_url=api.url, headers=auth, checks=CHECKS, timeout=30)
            statuses.setdefault(case.operation.label, set()).add(r.status_code)

        try:
            check()
        except Unsatisfiable:  # nothing to get wrong (no parameters, no body)
            continue
        except BaseException as e:  # every operation is tried; all are reported
            if isinstance(e, KeyboardInterrupt):
                raise
            key = f"{operation.label} ({mode.value}{', real ids' if at_real_ids else ''})"
            failures[key] = str(e)[:3000]
    held.release()
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
    assert len(statuses) == len(operations)  # every operation was called
