"""A run's events as the JSON objects programs read: the ``data:`` of the HTTP API's event stream
(``GET /api/stream/{id}``) and the lines of ``python -m duet_core run --json`` are both made
here, so a program can read either (docs/design.md, "HTTP API").

``WireEvents.encode(event)`` gives the objects for one engine event, in order:

- ``snapshot`` (first): ``{"type", "transcript", "partial"}``: the run so far as transcript
  JSON, and the turn being written as ``{"index", "bot_index", "content", "thinking"}`` or null;
- ``turn_start``: ``turn``, ``bot_index``, ``bot_name``, ``model``;
- ``thinking`` and ``token``: ``turn``, ``bot_index``, ``role`` (``"bot0"``/``"bot1"``),
  ``delta``;
- ``turn_complete``: ``turn`` and the turn's fields as in the transcript JSON (``index``,
  ``bot_index``, ``content`` ...); a person's message is ``interjection`` with the same fields;
- ``bot_updated``: ``bot_index``, ``changes`` (each changed setting's new value), ``config``;
- ``status``: ``status``, ``stop_reason``, ``error``;
- ``end`` (last, after the status that ended the run).

``turn`` is always the turn's ``index`` in the transcript JSON (from 0). The events are folded
by the same ``RunState`` as everywhere, which says whose turn a delta belongs to.
"""

from __future__ import annotations

from typing import Any

from duet_core.exports.transcript import transcript_dict, turn_json, turn_record
from duet_core.models import Run, Turn
from duet_core.run import events
from duet_core.run.state import RunState

EVENT_TYPES = (
    "snapshot",
    "turn_start",
    "thinking",
    "token",
    "turn_complete",
    "interjection",
    "bot_updated",
    "status",
    "end",
)


def turn_fields(turn: Turn) -> dict[str, Any]:
    """A turn as in the transcript JSON."""
    return turn_json(turn_record(turn))


def status_json(run: Run) -> dict[str, Any]:
    return {
        "type": "status",
        "status": run.status.value,
        "stop_reason": run.stop_reason,
        "error": run.error,
    }


def snapshot_json(run: Run, partial: Turn | None) -> dict[str, Any]:
    part = None
    if partial is not None:
        part = {
            "index": partial.index,
            "bot_index": partial.bot_index,
            "content": partial.content,
            "thinking": partial.thinking,
        }
    return {"type": "snapshot", "transcript": transcript_dict(run), "partial": part}


def completed_json(turn: Turn) -> dict[str, Any]:
    kind = "interjection" if turn.by_person else "turn_complete"
    return {"type": kind, "turn": turn.index, **turn_fields(turn)}


END = {"type": "end"}


class WireEvents:
    """One reader's encoder: feed it a subscription's events in order (a snapshot first)."""

    def __init__(self) -> None:
        self.state: RunState | None = None
        self.ended = False

    def encode(self, event: events.Event) -> list[dict[str, Any]]:
        """The JSON objects for ``event`` (none after ``end``)."""
        if self.ended:
            return []
        if isinstance(event, events.Snapshot):
            self.state = RunState.of(event.run)
            self.state.apply(event)
            out = [snapshot_json(event.run, event.partial)]
            if not event.run.status.live:
                out += [status_json(event.run), END]
                self.ended = True
            return out
        state = self.state
        if state is None:  # a subscription always starts with a snapshot
            return []
        out = self._encode(state, event)
        state.apply(event)
        if self.ended:
            out.append(END)
        return out

    def skip(self, event: events.Event) -> None:
        """Fold ``event`` as ``encode`` would, without making its objects (a reader that has
        them already: the same event's objects are the same for every reader of a run)."""
        if self.ended or self.state is None or isinstance(event, events.Snapshot):
            self.encode(event)
            return
        self.state.apply(event)
        if isinstance(event, events.StatusChanged) and not event.status.live:
            self.ended = True

    def _encode(self, state: RunState, event: events.Event) -> list[dict[str, Any]]:
        if isinstance(event, events.TextDelta | events.ThinkingDelta):
            partial = state.partial
            if partial is None or partial.index != event.turn_index:
                return []
            return [
                {
                    "type": "token" if isinstance(event, events.TextDelta) else "thinking",
                    "turn": event.turn_index,
                    "bot_index": partial.bot_index,
                    "role": f"bot{partial.bot_index}",
                    "delta": event.text,
                }
            ]
        if isinstance(event, events.TurnStarted):
            return [
                {
                    "type": "turn_start",
                    "turn": event.turn_index,
                    "bot_index": event.bot_index,
                    "bot_name": event.bot_name,
                    "model": event.config.model,
                }
            ]
        if isinstance(event, events.TurnFinished):
            return [completed_json(event.turn)]
        if isinstance(event, events.BotUpdated):
            old = state.bots_next()[event.bot_index].model_dump(mode="json")
            new = event.config.model_dump(mode="json")
            changes = {k: v for k, v in new.items() if old.get(k) != v}
            return [
                {
                    "type": "bot_updated",
                    "bot_index": event.bot_index,
                    "changes": changes,
                    "config": new,
                }
            ]
        if isinstance(event, events.StatusChanged):
            self.ended = not event.status.live
            return [
                {
                    "type": "status",
                    "status": event.status.value,
                    "stop_reason": event.stop_reason,
                    "error": event.error,
                }
            ]
        return []  # RunError: its message is the status's ``error``
