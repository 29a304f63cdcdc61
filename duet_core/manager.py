"""The process-wide run manager: starts runs, finds them by id, enforces limits."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping

from duet_core import catalog
from duet_core.engine import LiveRun, ProviderFor
from duet_core.errors import AccessDenied, ConfigError, RunLimitError
from duet_core.logs import setup_logging
from duet_core.models import BotConfig, Run, RunConfig, RunStatus
from duet_core.providers import base
from duet_core.settings import Settings

ProviderFactory = Callable[[BotConfig, Mapping[str, str] | None], base.Provider]
KEEP_FINISHED = 256  # finished runs kept in memory for viewers that are still attached


def default_provider_factory(settings: Settings) -> ProviderFactory:
    from duet_core.providers import make_provider

    return lambda bot, keys: make_provider(bot, settings, keys)


class RunManager:
    """Owns every live run of this process. Thread-safe."""

    def __init__(
        self,
        store,
        settings: Settings,
        provider_factory: ProviderFactory | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.store = store
        self.settings = settings
        self._factory = provider_factory or default_provider_factory(settings)
        self._clock = clock
        self._lock = threading.Lock()
        self._runs: dict[str, LiveRun] = {}
        self._starts: dict[str, deque[float]] = defaultdict(deque)
        self._prices = catalog.load_prices(settings.prices_file)
        setup_logging(settings.log_level)

    # --- limits --------------------------------------------------------------------------

    def _check_limits(self, owner: str, rate_limited: bool) -> None:
        """Caller holds the lock."""
        active = [r for r in self._runs.values() if r.status.live]
        if len(active) >= self.settings.max_active_runs:
            raise RunLimitError(
                f"{len(active)} runs are already going (the limit is "
                f"{self.settings.max_active_runs}); stop one or wait for it to finish."
            )
        if not rate_limited:
            return
        now, starts = self._clock(), self._starts[owner]
        while starts and now - starts[0] >= 60:
            starts.popleft()
        if len(starts) >= self.settings.runs_per_minute:
            wait = 60 - (now - starts[0])
            raise RunLimitError(
                f"You started {len(starts)} runs in the last minute (the limit is "
                f"{self.settings.runs_per_minute}); try again in {wait:.0f} s."
            )
        starts.append(now)

    def _cap(self, config: RunConfig) -> RunConfig:
        if config.max_turns > self.settings.max_turns:
            return config.model_copy(update={"max_turns": self.settings.max_turns})
        return config

    # --- runs ----------------------------------------------------------------------------

    def _provider_for(self, keys: Mapping[str, str] | None) -> ProviderFor:
        keys = dict(keys or {})  # the session's pasted keys live only in this closure
        return lambda bot: self._factory(bot, keys)

    def _launch(self, run: Run, keys: Mapping[str, str] | None, new: bool) -> LiveRun:
        live = LiveRun(run, self._provider_for(keys), self.store, self._prices)
        if new:
            self.store.create_run(run)
        else:
            self.store.set_status(run.id, RunStatus.RUNNING)
        self._runs[run.id] = live
        self._forget_old()
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
        """Start a stopped, interrupted or failed run again from where it ended."""
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
            max_turns = max(run.config.max_turns, done + (extra_turns or 0))
            if max_turns <= done:
                max_turns = done + 1
            self._check_limits(user, rate_limited)
            run.config = self._cap(run.config.model_copy(update={"max_turns": max_turns}))
            run.status, run.stop_reason, run.error, run.finished_at = (
                RunStatus.RUNNING,
                None,
                None,
                None,
            )
            return self._launch(run, keys, new=False)

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

    def recover_interrupted(self) -> list[str]:
        """Runs left running or paused by a process that died become ``interrupted``."""
        with self._lock:
            mine = {rid for rid, r in self._runs.items() if r.status.live}
        if mine:
            return []  # this process has live runs: the store's live rows are ours
        return self.store.mark_interrupted()
