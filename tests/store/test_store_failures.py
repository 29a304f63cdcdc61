"""A database failure in any store path is one DuetError line naming no SQL and no values."""

from __future__ import annotations

import pytest

from duet_core.errors import DuetError
from duet_core.models import RunStatus, Turn
from duet_core.store import RunQuery

SECRET = "a private topic that must not leak"

PATHS = {
    "create_run": lambda s, run: s.create_run(run.model_copy(update={"id": "r00000000new"})),
    "save_turn": lambda s, run: s.save_turn(run.id, Turn(index=9, bot_index=0, bot_name="A")),
    "set_status": lambda s, run: s.set_status(run.id, RunStatus.STOPPED),
    "delete_run": lambda s, run: s.delete_run(run.id),
    "mark_interrupted": lambda s, run: s.mark_interrupted(),
    "renew_leases": lambda s, run: s.renew_leases("me", [run.id], 30),
    "take_over": lambda s, run: s.take_over(run.id, "me", 30),
    "get_run": lambda s, run: s.get_run(run.id),
    "list_runs": lambda s, run: s.list_runs(RunQuery(search="private")),
    "runs_for_export": lambda s, run: list(s.runs_for_export()),
    "export_size": lambda s, run: s.export_size(),
    "branches_of": lambda s, run: s.branches_of(run.id),
    "branch_counts": lambda s, run: s.branch_counts([run.id]),
    "parents_of": lambda s, run: s.parents_of([run.id]),
    "prompts.save": lambda s, run: s.prompts.save("p", [{"role": "system", "content": SECRET}]),
    "prompts.get": lambda s, run: s.prompts.get("p"),
    "prompts.list": lambda s, run: s.prompts.list(),
    "prompts.history": lambda s, run: s.prompts.history("p"),
}


@pytest.mark.parametrize("path", PATHS)
def test_a_database_failure_is_one_line_without_sql(path, store, make_run):
    run = make_run(topic=SECRET)
    store.create_run(run)
    store.prompts  # made while the database still works  # noqa: B018
    store.engine.dispose()
    refused = store.engine.dialect.loaded_dbapi.OperationalError  # the driver's own error

    def broken(*args, **kwargs):
        raise refused("connection refused by the test")

    store.engine.pool._creator = broken  # every new connection now fails
    with pytest.raises(DuetError) as e:
        PATHS[path](store, run)
    message = str(e.value)
    assert "\n" not in message and message.startswith("The database"), message
    for leak in (SECRET, "SELECT", "INSERT", "UPDATE", "[SQL", "parameters"):
        assert leak not in message, message
