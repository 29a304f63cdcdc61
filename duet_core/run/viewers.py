"""The viewers of one live run: each browser session, HTTP stream or command line watching it
holds a ``Subscription`` (its own bounded queue); ``Viewers`` offers every event to each and
drops the ones that are gone (a full queue, or nothing drained for ``abandon_after``), so a
closed tab never holds memory.

Not locked itself: the run (``engine.LiveRun``) calls it under its own lock, so a viewer that
subscribes sees its snapshot and then every later event, none twice.
"""

from __future__ import annotations

import time

from duet_core.run.events import Event, Subscription

SWEEP_EVERY = 2.0  # seconds between checks for abandoned viewers


class Viewers:
    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []
        self._last_sweep = time.monotonic()

    def __len__(self) -> int:
        return len(self._subscriptions)

    def add(self, sub: Subscription) -> None:
        self._subscriptions.append(sub)

    def remove(self, sub: Subscription) -> None:
        if sub in self._subscriptions:
            self._subscriptions.remove(sub)
        sub.dropped = True

    def clear(self) -> None:
        """The run ended: each viewer has its final event; keep no references."""
        self._subscriptions.clear()

    def publish(self, event: Event) -> None:
        """Offer ``event`` to every viewer; drop those that are gone."""
        dropped = [s for s in self._subscriptions if not s.offer(event)]
        now = time.monotonic()
        if now - self._last_sweep > SWEEP_EVERY:
            self._last_sweep = now
            dropped += [s for s in self._subscriptions if s.abandoned(now)]
        for sub in dropped:
            self.remove(sub)
