"""A worker: claims queued runs of active experiments and runs them in this process.

Any process may run one (``python -m duet_core worker``, ``batch run``, an app replica): the
queue is in the database (``duet_core/store/experiments.py``), so several workers on one
PostgreSQL share an experiment, and the runs of a worker that died are taken up again by
another once their leases expire. Each claimed run goes through the process's ``RunManager``
(its thread, its lease renewed, its turns saved as they finish) with this worker's providers:
``limits.LimitedProvider``, so a provider that answers 429 gets fewer requests at once.

Limits: ``capacity`` runs at once in this process (over every experiment); each experiment's
``concurrency`` over every worker (counted by the claim); per provider endpoint the backing-off
limit of ``limits.py``. Pause stops starting runs (running ones finish); cancel also stops the
running ones, in whichever worker runs them, within ``poll_seconds``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from duet_core.batch.limits import PATIENCE, ProviderLimits, limited
from duet_core.errors import DuetError
from duet_core.models import BotConfig, RunStatus
from duet_core.providers.base import Provider
from duet_core.run.engine import LiveRun
from duet_core.run.manager import RunManager
from duet_core.store.experiments import ExperimentQueue
from duet_core.vocabulary import ExperimentStatus, StopReason

log = logging.getLogger("duet.batch")
POLL_SECONDS = 1.0  # how often an idle worker looks for new runs (and for cancels)


class Worker:
    def __init__(
        self,
        manager: RunManager,
        provider_factory: Callable[[BotConfig], Provider],
        *,
        capacity: int,
        experiment_id: str | None = None,
        poll_seconds: float = POLL_SECONDS,
        limits: ProviderLimits | None = None,
        patience: float = PATIENCE,
        on_finished: Callable[[LiveRun], None] | None = None,
    ):
        self.manager = manager
        self.queue = ExperimentQueue(manager.store)
        self.capacity = max(1, capacity)
        self.experiment_id = experiment_id
        self.poll_seconds = poll_seconds
        self.limits = limits or ProviderLimits(self.capacity)
        self._provider_for = limited(provider_factory, self.limits, patience)
        self._on_finished = on_finished
        self._lock = threading.Lock()
        self._live: dict[str, LiveRun] = {}
        self._experiment_of: dict[str, str] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self.started = 0
        self.finished = 0

    @classmethod
    def for_services(cls, services, **kw) -> Worker:
        """A worker on ``services``' manager and providers (the server's keys)."""
        return cls(services.manager, lambda bot: services.providers(bot), **kw)

    # --- reading -------------------------------------------------------------------------

    @property
    def live(self) -> list[LiveRun]:
        with self._lock:
            return list(self._live.values())

    # --- the loop ------------------------------------------------------------------------

    def run(self, until_idle: bool = False) -> None:
        """Work until ``stop()`` (or, with ``until_idle``, until no active experiment, or this
        worker's one, has a run waiting or running in any process)."""
        while not self._stopping.is_set():
            launched = self.step()
            with self._lock:
                busy = bool(self._live)
            if until_idle and not busy and not launched and not self._pending():
                if self.step() == 0:  # (this claim marks a finished experiment completed)
                    return
                continue
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    def step(self) -> int:
        """One round: forget ended runs, stop runs of cancelled experiments, claim and start
        as many runs as there is room for. Returns how many it started."""
        self._reap()
        self._obey_controls()
        with self._lock:
            room = self.capacity - len(self._live)
        if room <= 0 or self._stopping.is_set():
            return 0
        try:
            ids = self.queue.claim(
                self.manager.lease_owner, self.manager.lease_seconds, room, self.experiment_id
            )
        except DuetError as e:  # the database is down: try again next round
            log.warning("could not claim runs: %s", e)
            return 0
        for run_id in ids:
            self._launch(run_id)
        return len(ids)

    def _pending(self) -> bool:
        try:
            return self.queue.pending(self.experiment_id)
        except DuetError as e:  # the database is down: not idle, try again next round
            log.warning("could not read the queue: %s", e)
            return True

    def stop(self) -> None:
        """Stop claiming; the runs going on keep going (see ``shut_down``)."""
        self._stopping.set()
        self._wake.set()

    def shut_down(self, timeout: float = 10.0) -> None:
        """Stop claiming and end this worker's runs as ``interrupted`` (reason shutdown), so
        another worker takes them up again at once, from where they stopped."""
        self.stop()
        runs = self.live
        for live in runs:
            live.stop(RunStatus.INTERRUPTED, StopReason.SHUTDOWN)
        for live in runs:
            live.join(timeout)
        self._reap()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until this worker has no run going (tests, ``batch run``)."""
        return all(live.join(timeout) for live in self.live)

    # --- inside ----------------------------------------------------------------------------

    def _launch(self, run_id: str) -> None:
        try:
            run = self.manager.store.get_run(run_id)
            if run is None:
                return  # deleted between the claim and now
            live = self.manager.run_claimed(run, self._provider_for)
        except DuetError as e:  # e.g. a saved template it names is gone
            log.warning("run %s could not start: %s", run_id, e)
            self._fail(run_id, e.message)
            return
        except Exception as e:  # a bug: this run fails, the others go on
            log.exception("run %s could not start", run_id)
            self._fail(run_id, f"Internal error: {type(e).__name__}: {e}")
            return
        with self._lock:
            self._live[run_id] = live
            self._experiment_of[run_id] = run.experiment_id or ""
            self.started += 1
        threading.Thread(
            target=self._watch, args=(live,), name=f"duet-batch-{run_id}", daemon=True
        ).start()

    def _fail(self, run_id: str, message: str) -> None:
        try:
            self.manager.store.set_status(
                run_id,
                RunStatus.ERROR,
                StopReason.ERROR,
                message,
                lease_owner=self.manager.lease_owner,
            )
        except DuetError as e:
            log.warning("could not save run %s as failed: %s", run_id, e)

    def _watch(self, live: LiveRun) -> None:
        live.join()
        self._wake.set()

    def _reap(self) -> None:
        with self._lock:
            ended = [live for live in self._live.values() if not live.alive]
            for live in ended:
                del self._live[live.id]
                self._experiment_of.pop(live.id, None)
                self.finished += 1
        for live in ended:
            if self._on_finished is not None:
                self._on_finished(live)

    def _obey_controls(self) -> None:
        with self._lock:
            mine = dict(self._experiment_of)
        if not mine:
            return
        try:
            statuses = self.queue.statuses(mine.values())
        except DuetError as e:
            log.warning("could not read the experiments' states: %s", e)
            return
        for run_id, exp_id in mine.items():
            if statuses.get(exp_id) is ExperimentStatus.CANCELLED:
                with self._lock:
                    live = self._live.get(run_id)
                if live is not None and live.status.live:
                    live.stop()
