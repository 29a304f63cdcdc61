"""``GET /api/stream/{id}``: a run's events as Server-Sent Events.

Each event has ``event: <type>``, an ``id:`` and one JSON object as ``data:``, made by
``duet_core.run.wire`` (the same objects ``python -m duet_core run --json`` prints): ``snapshot``
first, then the events as they happen, ``end`` last. A reconnect starts from a new snapshot;
the engine takes it under the run's lock, so no token is lost or doubled between the two.

No thread per reader: the run's subscription wakes the reader on the server's event loop
(``Subscription.notify``), as the page's text feed does (``duet_ui.conversation.feed``). A
comment ``: keepalive`` goes out whenever nothing else has for ``DUET_SSE_KEEPALIVE`` seconds.
When the client goes, sse-starlette cancels the reader and the subscription is let go.

A run that is not live in this process is read from the database: a finished one is
``snapshot``, ``status``, ``end``; one live in another process sharing the database is polled
(``snapshot``, then each ``turn_complete`` and ``status`` as they are saved, then ``end``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Path, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from duet_api.deps import CallerDep, ServicesDep, find_run
from duet_api.schemas import AUTH_ERRORS, SSE_RESPONSE, errors
from duet_core.models import Run
from duet_core.redact import redact
from duet_core.run.engine import LiveRun
from duet_core.run.events import Snapshot
from duet_core.run.wire import END, WireEvents, completed_json, snapshot_json, status_json
from duet_core.services import Services

router = APIRouter(tags=["runs"])
BATCH = 256  # events taken from the queue at a time
POLL = 1.0  # seconds between reads of a run that another process runs
RETRY_MS = 1000  # how long a browser's EventSource waits before it reconnects
SHUTDOWN_GRACE = 5.0  # seconds a stream has, once the server stops, to send its last events


def event_body(obj: dict[str, Any]) -> bytes:
    """An event's ``event:`` and ``data:`` lines and the blank line that ends it."""
    data = redact(json.dumps(obj, ensure_ascii=False))  # a key a model repeated
    return f"event: {obj['type']}\r\ndata: {data}\r\n\r\n".encode()


class Encoder:
    """Numbers the events of one connection (``id:``) and writes each as an SSE event."""

    def __init__(self) -> None:
        self.n = 0

    def frame(self, body: bytes) -> bytes:
        self.n += 1
        return b"id: %d\r\n%s" % (self.n, body)

    def __call__(self, obj: dict[str, Any]) -> bytes:
        return self.frame(event_body(obj))


class SharedBodies:
    """The encoded bodies of a run's latest events, made by the first of its readers that
    reaches each event and reused by the others (every reader of a run gets the very same
    event objects, and their objects do not depend on the reader). All readers run on the
    server's event loop: no lock."""

    SIZE = 4096

    def __init__(self) -> None:
        self._bodies: OrderedDict[int, tuple[object, list[bytes]]] = OrderedDict()

    def get(self, event: object) -> list[bytes] | None:
        hit = self._bodies.get(id(event))
        return hit[1] if hit is not None and hit[0] is event else None

    def put(self, event: object, bodies: list[bytes]) -> None:
        self._bodies[id(event)] = (event, bodies)  # holding the event keeps its id unique
        if len(self._bodies) > self.SIZE:
            self._bodies.popitem(last=False)


_shared: weakref.WeakKeyDictionary[LiveRun, SharedBodies] = weakref.WeakKeyDictionary()


def shared_bodies(live: LiveRun) -> SharedBodies:
    found = _shared.get(live)
    if found is None:
        found = _shared[live] = SharedBodies()
    return found


@router.get(
    "/stream/{run_id}",
    response_class=EventSourceResponse,
    responses={**SSE_RESPONSE, **errors(*AUTH_ERRORS, 404)},
)
async def stream_run(
    run_id: Annotated[str, Path(min_length=1, max_length=200)],
    request: Request,
    services: ServicesDep,
    caller: CallerDep,
) -> EventSourceResponse:
    """The run's events as Server-Sent Events: ``snapshot``, then ``turn_start``,
    ``thinking``, ``token``, ``turn_complete``, ``bot_updated``, ``interjection``, ``status``
    as they happen, and ``end`` last."""
    live, run = await anyio.to_thread.run_sync(find_run, services, caller, run_id)
    keepalive = services.settings.sse_keepalive
    shutdown = anyio.Event()  # set by sse-starlette when the server is told to stop
    if live is not None:
        events = live_events(live, keepalive, shutdown, services.manager.shut_down)
    else:
        events = saved_events(services, run, keepalive, shutdown)
    return EventSourceResponse(
        events,
        ping=0,  # keepalives are sent by the reader, only when it has been quiet
        headers={"Cache-Control": "no-store"},
        shutdown_event=shutdown,
        shutdown_grace_period=SHUTDOWN_GRACE,
    )


async def _relay(shutdown: anyio.Event, woken: asyncio.Event) -> None:
    await shutdown.wait()
    woken.set()


async def live_events(
    live: LiveRun,
    keepalive: float,
    shutdown: anyio.Event | None = None,
    shut_down: Callable[[], object] | None = None,
) -> AsyncIterator[ServerSentEvent | bytes]:
    """``shutdown``: set when the server is stopping; then ``shut_down`` ends this process's
    runs (as interrupted) and the reader carries on until their last status and ``end``."""
    loop = asyncio.get_running_loop()
    woken = asyncio.Event()
    scheduled = False  # a wake-up is on its way to the loop: the next one need not be

    def woke() -> None:  # on the loop
        nonlocal scheduled
        scheduled = False
        woken.set()

    def wake() -> None:  # on the run's thread, after each event it queued
        nonlocal scheduled
        if scheduled:
            return
        scheduled = True
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody reads
            loop.call_soon_threadsafe(woke)

    encode, wire, shared = Encoder(), WireEvents(), shared_bodies(live)
    sub = live.subscribe()
    sub.notify = wake  # anything queued before this is drained below
    relay = asyncio.create_task(_relay(shutdown, woken)) if shutdown is not None else None
    stopping = False
    try:
        yield ServerSentEvent(comment="duet", retry=RETRY_MS)
        while True:
            woken.clear()
            batch = sub.drain(max_events=BATCH)
            frames = []
            for event in batch:
                bodies = shared.get(event)
                if bodies is None:
                    bodies = [event_body(obj) for obj in wire.encode(event)]
                    if not isinstance(event, Snapshot):  # a snapshot is this reader's own
                        shared.put(event, bodies)
                else:
                    wire.skip(event)
                frames += [encode.frame(body) for body in bodies]
            if frames:  # one write for everything that was waiting
                yield b"".join(frames)
            if wire.ended:
                return
            if len(batch) == BATCH:
                continue  # more are waiting
            if shutdown is not None and shutdown.is_set() and not stopping:
                stopping = True
                if shut_down is not None:
                    shut_down()  # every live run of this process: interrupted, "shutdown"
                continue
            if sub.dropped:  # fell too far behind: start again from a snapshot
                live.unsubscribe(sub)
                wire, sub = WireEvents(), live.subscribe()
                sub.notify = wake
                continue
            try:
                await asyncio.wait_for(woken.wait(), keepalive)
            except TimeoutError:
                yield ServerSentEvent(comment="keepalive")
    finally:
        if relay is not None:
            relay.cancel()
        sub.notify = None
        live.unsubscribe(sub)


async def saved_events(
    services: Services, run: Run, keepalive: float, shutdown: anyio.Event | None = None
) -> AsyncIterator[ServerSentEvent | bytes]:
    """A run read from the database: final, or live in another process (polled; a server
    that is stopping ends the stream, leaving that run to its process)."""
    encode = Encoder()
    yield ServerSentEvent(comment="duet", retry=RETRY_MS)
    yield encode(snapshot_json(run, None))
    seen, status = len(run.turns), (run.status, run.stop_reason, run.error)
    quiet = 0.0
    while run.status.live:
        if shutdown is not None:
            with anyio.move_on_after(POLL):
                await shutdown.wait()
            if shutdown.is_set():
                yield encode(END)
                return
        else:
            await asyncio.sleep(POLL)
        quiet += POLL
        found = await anyio.to_thread.run_sync(services.store.get_run, run.id)
        if found is None:  # deleted meanwhile
            break
        run = found
        for turn in run.turns[seen:]:
            yield encode(completed_json(turn))
            quiet = 0.0
        seen = len(run.turns)
        if (run.status, run.stop_reason, run.error) != status and run.status.live:
            status = (run.status, run.stop_reason, run.error)
            yield encode(status_json(run))
            quiet = 0.0
        if quiet >= keepalive:
            yield ServerSentEvent(comment="keepalive")
            quiet = 0.0
    yield encode(status_json(run))
    yield encode(END)
