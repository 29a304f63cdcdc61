"""A Prompt Lab experiment (or a playground reply) as Server-Sent Events: ``data:`` objects
``{"type": "thinking"|"text", "variant", "content"}``, ``{"type": "done", "variant", "turn"}``,
``{"type": "error", "variant", "message"}`` (the command line's ``lab --json`` lines), then
whatever ``finish`` adds (a saved branch). The variants' threads wake the reader on the event
loop (``Experiment.notify``); a client that goes away stops the variants."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
from sse_starlette import EventSourceResponse, ServerSentEvent

from duet_core.lab.variants import Experiment
from duet_core.redact import redact

BATCH = 256
Finish = Callable[[Experiment], list[dict[str, Any]]]


def data(obj: dict[str, Any]) -> ServerSentEvent:
    return ServerSentEvent(data=redact(json.dumps(obj, ensure_ascii=False)))


async def experiment_events(
    lab: Experiment, keepalive: float, finish: Finish | None = None
) -> AsyncIterator[ServerSentEvent]:
    loop = asyncio.get_running_loop()
    woken = asyncio.Event()

    def wake() -> None:  # on a variant's thread
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(woken.set)

    lab.notify = wake
    lab.start()
    ended, total = 0, len(lab.variants)
    try:
        while ended < total:
            woken.clear()
            batch = lab.drain(max_events=BATCH)
            for event in batch:
                ended += event.type in ("done", "error")
                yield data(event.as_json())
            if ended >= total or batch:
                continue
            try:
                await asyncio.wait_for(woken.wait(), keepalive)
            except TimeoutError:
                yield ServerSentEvent(comment="keepalive")
        if finish is not None:
            for obj in await anyio.to_thread.run_sync(finish, lab):
                yield data(obj)
    finally:
        lab.notify = None
        if not lab.done:  # the client went away: stop the variants' streams
            lab.stop()


def experiment_response(
    lab: Experiment, keepalive: float, finish: Finish | None = None
) -> EventSourceResponse:
    return EventSourceResponse(
        experiment_events(lab, keepalive, finish),
        ping=0,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
