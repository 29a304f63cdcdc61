"""The text feed: the turn being written, pushed to the browser on its own connection (SSE).

Streamlit draws every token as a delta of its page tree; in Chromium the cost of each such
update grows with the page (Duet's steering sidebar alone doubles it: ``bench/live_latency.py``).
When the app is served by ``serve.py`` (``st.App`` with the route below), the live panel
draws the text of the turn being written with ``duet_ui.text_feed_view`` instead: a small
component that reads ``GET /_duet/feed/<ticket>`` and puts each update into its own element,
outside Streamlit's tree. Everything else (the header, a finished turn, the controls) is
still drawn by the page; when the turn ends the page draws it finished in place of the
component. Under plain ``streamlit run app.py`` or AppTest no route exists, ``open_ticket``
returns None, and the panel draws the text itself, as before.

A ticket is an unguessable id for one live run, made by the page for the session that shows
it (``LiveView.feed_url``); the stream carries the text of each turn being written (one
connection for the whole run: the next turn's first token needs no new connection) and ends
with the run, when the ticket goes too. The reader waits on the run's events without a
thread: the subscription wakes it (``Subscription.notify``) on the server's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from duet_core.engine import LiveRun
from duet_core.models import Turn
from duet_core.run_state import RunState
from duet_ui.transcript import shown

PATH = "/_duet/feed"
CURSOR = " ▌"
FRAME = 0.03  # seconds: updates closer together than this are sent together
WAKE = 1.0  # seconds: longest wait without events (a dropped subscription, a closed tab)
RETRY_MS = 500  # the browser's wait before it connects again to a stream that broke
TICKET_GRACE = 60.0  # seconds: a ticket is forgotten this long after its run ended

# Model output is untrusted: no raw HTML (escaped), no images (a remote fetch), and links
# are checked by markdown-it (no javascript:, vbscript:, file: or data: URLs).
_MARKDOWN = (
    MarkdownIt("commonmark", {"html": False, "linkify": False})
    .enable(["table", "strikethrough"])
    .disable("image")
)


def to_html(text: str, writing: bool = True) -> str:
    """A turn's text (so far: with the cursor) as safe HTML (keys redacted, as everywhere it
    is drawn)."""
    return _MARKDOWN.render(shown(text) + (CURSOR if writing else ""))


TEXT, THINKING = "text", "thinking"  # the parts of a turn the feed carries


def _update(turn: int, part: str, html: str) -> str:
    return f"data: {json.dumps({'turn': turn, 'part': part, 'html': html})}\n\n"


@dataclass
class Ticket:
    live: LiveRun
    made: float = field(default_factory=time.monotonic)


_tickets: dict[str, Ticket] = {}
_lock = threading.Lock()
_serving = False


def routes() -> list[Route]:
    """The route to add to ``st.App`` (``serve.py``); from then on the panel streams through
    it."""
    global _serving
    _serving = True
    return [Route(PATH + "/{ticket}", stream_turns)]


def serving() -> bool:
    return _serving


def open_ticket(live: LiveRun | None) -> str | None:
    """A URL that streams the turns of ``live`` as they are written, for one viewer; None
    when the app has no route (the page then draws the text itself) or the run is over."""
    if not _serving or live is None or not live.status.live:
        return None
    ticket = secrets.token_urlsafe(24)
    now = time.monotonic()
    with _lock:
        for old in [k for k, t in _tickets.items() if _stale(t, now)]:
            del _tickets[old]
        _tickets[ticket] = Ticket(live)
    return f"{PATH}/{ticket}"


def is_open(url: str, live: LiveRun) -> bool:
    """``url`` still streams ``live`` (not a run that ended and was continued since)."""
    with _lock:
        ticket = _tickets.get(url.rsplit("/", 1)[-1])
    return ticket is not None and ticket.live is live and live.status.live


def _stale(ticket: Ticket, now: float) -> bool:
    return not ticket.live.status.live and now - ticket.made > TICKET_GRACE


def _forget(ticket: str) -> None:
    with _lock:
        _tickets.pop(ticket, None)


async def stream_turns(request: Request) -> Response:
    ticket = request.path_params["ticket"]
    with _lock:
        found = _tickets.get(ticket)
    if found is None:
        return Response("This run is not being written any more.", status_code=404)
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(
        _events(ticket, found.live, request), media_type="text/event-stream", headers=headers
    )


async def _events(ticket: str, live: LiveRun, request: Request) -> AsyncIterator[str]:
    """The turn being written, as HTML, each time its thinking or text grows (``{"turn",
    "part", "html"}``); ``end`` when the run is over."""
    loop = asyncio.get_running_loop()
    woken = asyncio.Event()

    def wake() -> None:  # on the run's thread
        with contextlib.suppress(RuntimeError):  # the server's loop is closed: nobody reads
            loop.call_soon_threadsafe(woken.set)

    sub = live.subscribe()
    sub.notify = wake
    state: RunState | None = None
    sent: dict[str, tuple[int, int]] = {}  # part: (turn, its number of chunks) last sent
    last_sent = 0.0
    try:
        yield f"retry: {RETRY_MS}\n\n"
        while True:
            woken.clear()
            for event in sub.drain():
                if state is None:  # the first event is the run's snapshot
                    state = RunState(run=event.run)
                state.apply(event)
            if state is None:
                break
            if TEXT in sent and (ended := _ended(state, sent[TEXT][0])) is not None:
                # the turn ended within the frame: its last words, until the page draws it
                yield _update(ended.index, TEXT, to_html(ended.content, writing=False))
                sent.clear()
            if sub.dropped or not state.live:
                break
            partial = state.partial
            for part, chunks in ((THINKING, state.thinking), (TEXT, state.text)):
                mark = (partial.index, len(chunks)) if partial is not None and any(chunks) else None
                if mark is not None and sent.get(part) != mark:
                    sent[part] = mark
                    last_sent = time.monotonic()
                    html = to_html("".join(chunks), writing=part == TEXT)
                    yield _update(partial.index, part, html)
            if await request.is_disconnected():
                return
            try:
                await asyncio.wait_for(woken.wait(), WAKE)
            except TimeoutError:
                continue
            # events within one frame of the last update go out together
            wait = last_sent + FRAME - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        if state is not None and not state.live:
            _forget(ticket)
            yield "event: end\ndata: \n\n"
        # else (the run dropped this reader): the stream just ends, and the browser connects
        # again (after ``RETRY_MS``) to a fresh snapshot
    finally:
        sub.notify = None
        live.unsubscribe(sub)


def _ended(state: RunState, index: int) -> Turn | None:
    """Turn ``index`` if it has finished (it is among the last finished turns)."""
    if state.partial is not None and state.partial.index == index:
        return None
    return next((t for t in reversed(state.run.turns[-3:]) if t.index == index), None)
