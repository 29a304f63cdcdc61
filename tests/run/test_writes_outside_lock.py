"""A slow database write never holds the run's lock: pages reading the run's settings or its
snapshot carry on while a status change or an interjection is being saved."""

from __future__ import annotations

import threading

from duet_core.models import Run, RunStatus
from duet_core.providers.scripted import Hold, ScriptedProvider
from duet_core.run.engine import LiveRun
from tests.run.conftest import make_config, wait_status


class SlowStore:
    """The real store, but the chosen write waits until the test lets it through."""

    def __init__(self, store, slow: str):
        self._store = store
        self.slow = slow
        self.entered = threading.Event()
        self.go = threading.Event()

    def save_turn(self, run_id, turn, *a, **kw):
        if self.slow == "interjection" and turn.bot_index is None:
            self._wait()
        self._store.save_turn(run_id, turn, *a, **kw)

    def set_status(self, run_id, status, *a, **kw):
        if self.slow == "pause" and status is RunStatus.PAUSED:
            self._wait()
        self._store.set_status(run_id, status, *a, **kw)

    def _wait(self):
        self.entered.set()
        assert self.go.wait(10)

    def __getattr__(self, name):
        return getattr(self._store, name)


def reads_do_not_wait(live: LiveRun) -> bool:
    """Read the run's settings and snapshot from another thread; True when that is prompt."""
    done = threading.Event()

    def read():
        live.bots()
        live.snapshot()
        live.subscribe()
        done.set()

    threading.Thread(target=read, daemon=True).start()
    return done.wait(2)


def start(store, slow: str, provider: ScriptedProvider) -> tuple[LiveRun, SlowStore]:
    slow_store = SlowStore(store, slow)
    run = Run(owner="alice", config=make_config(max_turns=3))
    store.create_run(run)
    return LiveRun(run, lambda bot: provider, slow_store).start(), slow_store


def test_a_slow_status_write_does_not_block_readers(store):
    hold = Hold()
    provider = ScriptedProvider().enqueue(["Ada one", hold])
    live, slow = start(store, "pause", provider)
    assert hold.reached.wait(5)
    live.pause()
    hold.release()
    assert slow.entered.wait(5)  # the engine is inside set_status(PAUSED)
    assert reads_do_not_wait(live)
    slow.go.set()
    wait_status(live, RunStatus.PAUSED)
    live.resume()
    wait_status(live, RunStatus.COMPLETED)


def test_a_slow_interjection_write_does_not_block_readers(store):
    hold = Hold()
    provider = ScriptedProvider().enqueue(["Ada one", hold])
    live, slow = start(store, "interjection", provider)
    assert hold.reached.wait(5)
    live.interject("Please be brief.")
    hold.release()
    assert slow.entered.wait(5)  # the engine is saving the interjection
    assert reads_do_not_wait(live)
    slow.go.set()
    wait_status(live, RunStatus.COMPLETED)
    saved = store.get_run(live.id)
    assert [t.bot_name for t in saved.turns][:2] == ["Ada", "Moderator"]
