"""The command line's terminal: the conversation as it streams, with progress and totals,
and API keys redacted even when a key is split across stream chunks."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from duet_core.models import RunStatus
from duet_core.redact import redact
from duet_core.run import events
from duet_core.run.state import RunState
from duet_core.run.wire import WireEvents


class RedactingOut:
    """The terminal, with API keys redacted from the streamed conversation. The last two
    words are held back until more text follows, so a key split across stream chunks (or a
    ``Bearer`` and its token) is still caught whole."""

    def __init__(self, out: TextIO):
        self._out = out
        self._held = ""

    def write(self, text: str) -> None:
        text = self._held + text
        cut = len(text.rstrip(" \t\n"))
        for _ in range(2):  # keep the last two words
            cut = max(text.rfind(c, 0, cut) for c in " \t\n")
            if cut < 0:
                break
        if cut < 0:
            self._held = text
            return
        self._held = text[cut + 1 :]
        self._out.write(redact(text[: cut + 1]))

    def flush(self) -> None:
        self._out.flush()

    def close(self) -> None:
        if self._held:
            self._out.write(redact(self._held))
            self._held = ""
        self._out.flush()


def print_events(sub: events.Subscription, out: TextIO, err: TextIO | None = None) -> RunStatus:
    """Print the conversation as it streams, with the run's progress ("[turn 2 of 6]"), until
    the run ends; return its final status. A failure goes to ``err`` (stderr).

    The events are folded by the same ``RunState`` the engine and the page use; this only
    decides what each one prints."""
    state: RunState | None = None
    while True:
        event = sub.get(timeout=1.0)
        if event is None:
            continue
        if isinstance(event, events.Snapshot):  # the run so far; it may already have ended
            state = RunState.of(event.run)
            state.apply(event)
            for turn in event.run.turns:
                out.write(f"\n{turn.bot_name}:\n{turn.content}\n")
            partial = event.partial
            if partial is not None:  # a turn being written: headed as if it started now
                model = partial.config.model if partial.config is not None else None
                header = _speaker(partial.bot_name or "", model)
                out.write(f"\n{_progress(state)}{header}\n{partial.content}")
            if not event.run.status.live:
                event = events.StatusChanged(
                    event.run.status, event.run.stop_reason, event.run.error
                )
        elif state is not None:
            state.apply(event)
        if isinstance(event, events.TurnStarted):
            prefix = _progress(state) if state is not None else ""
            out.write(f"\n{prefix}{_speaker(event.bot_name, event.config.model)}\n")
        elif isinstance(event, events.TextDelta):
            out.write(event.text)
        elif isinstance(event, events.TurnFinished) and event.turn.by_person:
            out.write(f"\n{event.turn.bot_name}: {event.turn.content}\n")
        elif isinstance(event, events.TurnFinished):
            out.write("\n")
        elif isinstance(event, events.StatusChanged) and not event.status.live:
            out.write(f"\n[{event.status.value}: {event.stop_reason or ''}]\n")
            if state is not None:
                out.write(f"{_totals(state)}\n")
            out.flush()
            if event.error:
                print(f"duet: {redact(event.error)}", file=err or sys.stderr, flush=True)
            return event.status
        out.flush()


def _progress(state: RunState) -> str:
    """ "[turn 2 of 6] " for the turn being written."""
    return f"[turn {state.turn_number} of {state.run.config.max_turns}] "


def _totals(state: RunState) -> str:
    cost = "cost unknown" if state.cost is None else f"${state.cost:.4f}"
    return f"{state.bot_turns} turns · {state.tokens:,} tokens · {cost}"


def _speaker(name: str, model: str | None) -> str:
    """The line that heads a turn being written: ``Ada (gpt-4o-mini):``."""
    return f"{name} ({model}):" if model else f"{name}:"


def print_json_events(sub: events.Subscription, out: TextIO) -> RunStatus:
    """``run --json``: each event as one JSON line, the very objects the HTTP API's stream
    sends (``duet_core.run.wire``), ending with ``{"type": "end"}``; return the final status."""
    wire = WireEvents()
    while not wire.ended:
        event = sub.get(timeout=1.0)
        if event is None:
            continue
        for obj in wire.encode(event):
            out.write(redact(json.dumps(obj, ensure_ascii=False)) + "\n")
        out.flush()
    assert wire.state is not None
    return wire.state.status
