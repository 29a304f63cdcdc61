"""A separate process for the lease tests: ``python -m tests.store.lease_worker CMD DB ...``.

start DB LEASE          start a run whose second turn never ends; print ``RUN <id>``; wait
probe DB LEASE RUN      recover what can be recovered, try to continue RUN; print the outcome
continue DB LEASE RUN   print ``READY``, wait for a line on stdin, continue RUN to its end
"""

from __future__ import annotations

import json
import sys

from duet_core.errors import ConfigError
from duet_core.models import BotConfig, RunConfig, RunStatus
from duet_core.providers.scripted import Hold, ScriptedProvider
from duet_core.run.manager import RunManager
from duet_core.settings import Settings
from duet_core.store import Store


def manager(url: str, lease: str, provider: ScriptedProvider) -> RunManager:
    settings = Settings(database_url=url, _env_file=None)
    return RunManager(Store(url), settings, lambda bot, keys: provider, lease_seconds=float(lease))


def say(**fields) -> None:
    print(json.dumps(fields), flush=True)


def start(url: str, lease: str) -> None:
    hold = Hold()
    provider = ScriptedProvider().enqueue("Ada one", ["Bob half", hold])
    m = manager(url, lease, provider)
    bots = [BotConfig(name="Ada"), BotConfig(name="Bob")]
    live = m.start(RunConfig(topic="Leases", max_turns=4, bots=bots), "alice")
    hold.reached.wait(30)
    say(run=live.id, owner=m.lease_owner)
    sys.stdin.read()  # until the test closes stdin or kills this process


def probe(url: str, lease: str, run_id: str) -> None:
    m = manager(url, lease, ScriptedProvider())
    recovered = m.recover_interrupted()
    try:
        m.continue_run(run_id, "alice")
        say(recovered=recovered, outcome="continued")
    except ConfigError as e:
        say(recovered=recovered, outcome="refused", message=e.message)


def continue_(url: str, lease: str, run_id: str) -> None:
    m = manager(url, lease, ScriptedProvider(default="more"))
    say(ready=True)
    sys.stdin.readline()  # the test releases both racers at once
    try:
        live = m.continue_run(run_id, "alice")
    except ConfigError as e:
        say(outcome="refused", message=e.message)
        return
    live.join(30)
    say(outcome="won", status=live.status.value, owner=m.lease_owner)
    assert live.status is RunStatus.COMPLETED


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"start": start, "probe": probe, "continue": continue_}[command](*args)
