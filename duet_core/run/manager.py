"""The process-wide run manager: starts runs, finds them by id, enforces limits.

Several processes may share one database (docs/design.md, "Runs across processes"). Each manager
holds a lease on every live run it runs and renews it from a small thread; a run whose lease
expired was left by a dead process, reads as interrupted, and may be continued by any process
(``Store.take_over``: one conditional UPDATE, so of two processes exactly one wins). A manager
that loses a lease (another process took the run over after it froze) stops that run.

``DUET_MAX_ACTIVE_RUNS`` counts the runs this process runs. ``DUET_RUNS_PER_MINUTE`` counts the
runs each user created or continued in the last minute in the database, so it holds across the
pages, the HTTP API, the command line and every replica sharing the database.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import timedelta

from duet_core import catalog
from duet_core.errors import AccessDenied, ConfigError, ServerBusy, TooManyRunsStarted
from duet_core.models import BotConfig, Run, RunConfig, RunStatus, utcnow
from duet_core.providers import Providers, base, bind_keys
from duet_core.run.engine import LiveRun, ProviderFor
from duet_core.settings import Settings
from duet_core.vocabulary import StopReason

ProviderFactory = Callable[[BotConfig, Mapping[str, str] | None], base.Provider]
KEEP_FINISHED = 256  # finished runs kept in memory for viewers that are still attached
LEASE_SECONDS = 30.0  # a live run of a process that died reads as interrupted after this
RENEWALS_PER_LEASE = 3  # renew this many times per lease period
log = logging.getLogger("duet.manager")


def process_name() -> str:
    """This process, as a lease owner: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeasedStore:
    """The store as one live run sees it: every write checks this process still holds the
    run's lease (``LeaseLost`` otherwise); everything else passes through."""

    def __init__(self, store, lease_owner: str):
        self._store = store
        self.lease_owner = lease_owner

    def save_turn(self, run_id: str, turn, *args, **kw) -> None:
        self._store.save_turn(run_id, turn, *args, lease_owner=self.lease_owner, **kw)

    def set_status(self, run_id: str, status, *args, **kw) -> None:
        self._store.set_status(run_id, status, *args, lease_owner=self.lease_owner, **kw)

    def __getattr__(self, name: str):
        return getattr(self._store, name)


class RunManager:
    """Owns every live run of this process. Thread-safe."""

    def __init__(
        self,
        store,
        settings: Settings,
        provider_factory: ProviderFactory | None = None,
        prices: catalog.PriceTable | None = None,
        lease_seconds: float | None = None,
    ):
        self.store = store
        self.settings = settings
        self._factory = provider_factory or Providers(settings)  # the app's: duet_core.services
        self._lock = threading.Lock()
        self._runs: dict[str, LiveRun] = {}
        self._prices = catalog.load_prices(settings.prices_file) if prices is None else prices
        self.lease_owner = process_name()
        self.lease_seconds = float(
            lease_seconds or getattr(settings, "lease_seconds", None) or LEASE_SECONDS
        )
        self._renewer: threading.Thread | None = None
        self._closed = threading.Event()

    # --- limits --------------------------------------------------------------------------

    def _check_limits(self, owner: str, rate_limited: bool) -> None:
        """``DUET_MAX_ACTIVE_RUNS`` for this process; ``DUET_RUNS_PER_MINUTE`` for ``owner``,
        counting the runs they created or continued in the last minute through any process
        sharing the database (the pages, the API, the command line, other replicas). Caller
        holds the lock."""
        active = [r for r in self._runs.values() if r.status.live]
        if len(active) >= self.settings.max_active_runs:
            raise ServerBusy(
                f"{len(active)} runs are already going on this server process (the limit is "
                f"{self.settings.max_active_runs}); stop one or wait for it to finish."
            )
        if not rate_limited:
            return
        now = utcnow()
        started, oldest = self.store.runs_started_since(owner, now - timedelta(seconds=60))
        if started >= self.settings.runs_per_minute:
            wait = 60 - (now - oldest).total_seconds() if oldest is not None else 60.0
            wait = max(1.0, wait)
            raise TooManyRunsStarted(
                f"You started {started} runs in the last minute (the limit is "
                f"{self.settings.runs_per_minute}); try again in {wait:.0f} s.",
                retry_after=wait,
            )

    def _cap(self, config: RunConfig) -> RunConfig:
        if config.max_turns > self.settings.max_turns:
            return config.model_copy(update={"max_turns": self.settings.max_turns})
        return config

    # --- runs ----------------------------------------------------------------------------

    def _provider_for(self, keys: Mapping[str, str] | None) -> ProviderFor:
        return bind_keys(self._factory, keys)  # the keys live only in this closure

    def _launch(
        self,
        run: Run,
        keys: Mapping[str, str] | None,
        new: bool,
        provider_for: ProviderFor | None = None,
    ) -> LiveRun:
        """Start the run's thread; a new run is saved first with this process's lease (a
        continued one was taken over already). Caller holds the lock."""
        store = LeasedStore(self.store, self.lease_owner)
        live = LiveRun(run, provider_for or self._provider_for(keys), store, self._prices)
        if new:
            self.store.create_run(run, self.lease_owner, self.lease_seconds)
        self._runs[run.id] = live
        self._forget_old()
        self._ensure_renewer()
        return live.start()

    def start(
        self,
        config: RunConfig,
        owner: str,
        keys: Mapping[str, str] | None = None,
        rate_limited: bool = True,
    ) -> LiveRun:
        """Save and start a new run for ``owner``."""
        with self._lock:
            self._check_limits(owner, rate_limited)
            return self._launch(Run(owner=owner, config=self._cap(config)), keys, new=True)

    def continue_run(
        self,
        run_id: str,
        user: str,
        keys: Mapping[str, str] | None = None,
        extra_turns: int | None = None,
        is_admin: bool = False,
        rate_limited: bool = True,
    ) -> LiveRun:
        """Start a stopped, interrupted or failed run again from where it ended.

        A run another process is running (its lease is current) is refused; of two processes
        continuing the same run at once, exactly one wins (``Store.take_over``).
        """
        with self._lock:
            live = self._runs.get(run_id)
            if live is not None and live.status.live:
                raise ConfigError("This run is still going.")
            run = self.store.get_run(run_id)
            if run is None or not (is_admin or run.owner == user):
                raise AccessDenied(f"No run {run_id} that you may continue.")
            if run.status is RunStatus.COMPLETED and not extra_turns:
                raise ConfigError("The run completed; ask for more turns to continue it.")
            done = len(run.bot_turns)
            if done >= self.settings.max_turns:
                raise ConfigError(
                    f"This run already has {done} turns, the server's limit "
                    f"(DUET_MAX_TURNS={self.settings.max_turns})."
                )
            if run.status.live:
                raise ConfigError("This run is still going in another process.")
            max_turns = max(run.config.max_turns, done + (extra_turns or 0))
            if max_turns <= done:
                max_turns = done + 1
            self._check_limits(user, rate_limited)
            taken = self.store.take_over(
                run_id,
                self.lease_owner,
                self.lease_seconds,
                completed_too=bool(extra_turns),
                continued_by=user,  # counted by the runs-per-minute limit, in the database
            )
            if not taken:
                raise ConfigError("This run is still going: another process has continued it.")
            run = self.store.get_run(run_id) or run  # as it is now that it is ours
            run.config = self._cap(run.config.model_copy(update={"max_turns": max_turns}))
            run.status, run.stop_reason, run.error, run.finished_at = (
                RunStatus.RUNNING,
                None,
                None,
                None,
            )
            return self._launch(run, keys, new=False)

    def run_claimed(self, run: Run, provider_for: ProviderFor | None = None) -> LiveRun:
        """Start a run this process holds already: an experiment's run that a worker claimed
        (``running`` under this manager's lease in the database, ``ExperimentQueue.claim``),
        from where it stands (a run taken up again keeps its saved turns). The per-person
        limits do not apply: the worker keeps its own. ``provider_for``: the worker's providers
        (with its concurrency per provider)."""
        with self._lock:
            run.status, run.stop_reason, run.error, run.finished_at = (
                RunStatus.RUNNING,
                None,
                None,
                None,
            )
            run.config = self._cap(run.config)
            return self._launch(run, None, new=False, provider_for=provider_for)

    def _forget_old(self) -> None:
        finished = [rid for rid, r in self._runs.items() if not r.alive]
        for rid in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self._runs[rid]

    def get(self, run_id: str) -> LiveRun | None:
        with self._lock:
            return self._runs.get(run_id)

    def get_for(self, run_id: str, user: str, is_admin: bool = False) -> LiveRun | None:
        """The live run if ``user`` may see it; AccessDenied if it belongs to someone else."""
        live = self.get(run_id)
        if live is not None and not (is_admin or live.owner == user):
            raise AccessDenied(f"Run {run_id} belongs to another user.")
        return live

    def active(self, owner: str | None = None) -> list[LiveRun]:
        with self._lock:
            runs = list(self._runs.values())
        return [r for r in runs if r.status.live and (owner is None or r.owner == owner)]

    def stop_all(self, timeout: float = 5.0) -> None:
        """Stop every live run (at shutdown) and wait for their threads."""
        runs = self.active()
        for live in runs:
            live.stop()
        deadline = time.monotonic() + timeout
        for live in runs:
            live.join(max(0.0, deadline - time.monotonic()))

    def shut_down(self) -> list[LiveRun]:
        """The server is stopping: every live run ends now as ``interrupted`` (reason
        ``shutdown``), its viewers getting that status. Does not wait (``stop_all`` does)."""
        runs = self.active()
        for live in runs:
            live.stop(RunStatus.INTERRUPTED, StopReason.SHUTDOWN)
        return runs

    def recover_interrupted(self) -> list[str]:
        """Runs left running or paused by a process that died (lease expired) become
        ``interrupted``. Live runs of this or any other live process are not touched."""
        return self.store.mark_interrupted()

    # --- leases --------------------------------------------------------------------------

    def _ensure_renewer(self) -> None:
        """Caller holds the lock."""
        if self._renewer is None or not self._renewer.is_alive():
            self._renewer = threading.Thread(
                target=self._renew_loop, name="duet-leases", daemon=True
            )
            self._renewer.start()

    def _renew_loop(self) -> None:
        """Renew the leases of this process's live runs until none is left (restarted by the
        next launch). A run whose lease was taken over is stopped here."""
        while not self._closed.wait(self.lease_seconds / RENEWALS_PER_LEASE):
            with self._lock:
                live = {rid: r for rid, r in self._runs.items() if r.alive}
                if not live:
                    self._renewer = None
                    return
            self.renew_leases(live)

    def renew_leases(self, live: Mapping[str, LiveRun] | None = None) -> None:
        """Renew now (the renewer thread calls this; tests may too)."""
        if live is None:
            with self._lock:
                live = {rid: r for rid, r in self._runs.items() if r.alive}
        try:
            held = self.store.renew_leases(self.lease_owner, live, self.lease_seconds)
        except Exception as e:  # the database is down: try again next round
            log.warning("could not renew run leases: %s", e)
            return
        for rid, run in live.items():
            if rid not in held and run.status.live:
                log.warning("run %s was taken over by another process; stopping it here", rid)
                run.stop()

    def close(self) -> None:
        """Stop renewing leases (after ``stop_all``)."""
        self._closed.set()
