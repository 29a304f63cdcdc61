"""The text feed: the turn being written, pushed to the browser on its own connection (SSE).

Streamlit draws every token as a delta of its page tree; in Chromium the cost of each such
update grows with the page (Duet's steering sidebar alone doubles it: ``bench/live_latency.py``).
When the app is served by ``serve.py`` (``st.App`` with the route below), each browser session
on the conversation page holds one feed, ``GET /_duet/feed/<ticket>``, opened with the page and
kept across runs and turns (``duet_ui.conversation.feed_view``). The page says which live run the
feed follows (``Feed.follow``: the run it shows, from the Start click's own script run); the
feed then sends the text and thinking of the turn being written, as safe HTML, each time they
grow, and the browser writes them into that turn's slot, an ``st.html`` element the page drew
in the turn's card. So a token costs the page nothing, the first one needs no new connection,
and it shows as soon as its card is on screen. Everything else (the header, a finished turn,
the controls) is still drawn by the page. Under plain ``streamlit run app.py`` or AppTest no
route exists, ``open_feed`` returns None, and the panel draws the text itself.

A ticket is unguessable and made for one browser session. The reader waits on the run's
events without a thread: the subscription wakes it (``Subscription.notify``) on the server's
event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from duet_core.models import Turn
from duet_core.run.engine import LiveRun
from duet_core.run.events import Subscription
from duet_core.run.state import RunState
from duet_ui.shared import transcript

PATH = "/_duet/feed"
CURSOR = " ▌"
FRAME = 0.03  # seconds: updates closer together than this are sent together
WAKE = 1.0  # seconds: longest wait without events (a dropped subscription, a closed tab)
RETRY_MS = 500  # the browser's wait before it connects again to a stream that broke
FEED_IDLE = 86400.0  # seconds: a feed with no reader, not followed with for this long, goes


def to_html(text: str, writing: bool = True) -> str:
    """A turn's text (so far: with the cursor) as the page draws it (``transcript.to_html``,
    the one renderer of untrusted text)."""
    return transcript.to_html(text, CURSOR if writing else "")


TEXT, THINKING = "text", "thinking"  # the parts of a turn the feed carries


def _update(run_id: str, turn: int, part: str, html: str) -> str:
    message = {"run": run_id, "turn": turn, "part": part, "html": html}
    return f"data: {json.dumps(message)}\n\n"


def slot_key(run_id: str, turn: int, part: str) -> str:
    """What the browser matches a feed update with its slot by (``data-duet-feed``)."""
    return f"{run_id}/{turn}/{part}"


class Feed:
    """One browser session's feed: the live run it follows (None: none now)."""

    def __init__(self, ticket: str):
        self.ticket = ticket
        self.live: LiveRun | None = None
        self.touched = time.monotonic()
        self.readers: set[Callable[[], None]] = set()  # wakes each connected reader

    @property
    def url(self) -> str:
        return f"{PATH}/{self.ticket}"

    def follow(self, live: LiveRun | None) -> None:
        """Send the turns of ``live`` from now on (None: nothing). Called by each full run of
        the conversation page with the run it shows, if live in this process."""
        self.touched = time.monotonic()
        if live is not self.live:
            self.live = live
            for wake in list(self.readers):
                wake()


_feeds: dict[str, Feed] = {}
_lock = threading.Lock()
_serving = False


def routes() -> list[Route]:
    """The route to add to ``st.App`` (``serve.py``); from then on pages use feeds."""
    global _serving
    _serving = True
    return [Route(PATH + "/{ticket}", stream_feed)]


def serving() -> bool:
    return _serving


def open_feed() -> Feed | None:
    """A new feed for one browser session; None when the app has no route (the page then
    draws the text itself). Feeds nobody has read or followed with for ``FEED_IDLE`` go."""
    if not _serving:
        return None
    feed = Feed(secrets.token_urlsafe(24))
    now = time.monotonic()
    with _lock:
        for old in [k for k, f in _feeds.items() if not f.readers and now - f.touched > FEED_IDLE]:
            del _feeds[old]
        _feeds[feed.ticket] = feed
    return feed


def is_open(feed: Feed) -> bool:
    """``feed`` is still served (a feed idle for ``FEED_IDLE`` is forgotten)."""
    with _lock:
        return _feeds.get(feed.ticket) is feed


async def stream_feed(request: Request) -> Response:
    with _lock:
        feed = _feeds.get(request.path_params["ticket"])
    if feed is None:
        return Response("There is no such feed (the page was opened again since).", 404)
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(
        _events(feed, request), media_type="text/event-stream", headers=headers
    )


async def _events(feed: Feed, request: Request) -> AsyncIterator[str]:
    """The turn being written of the run ``feed`` follows, as HTML, each time its thinking or
    text grows (``{"run", "turn", "part", "html"}``), for as long as the browser reads."""
    loop = asyncio.get_running_loop()
    woken = asyncio.Event()

    def wake() -> None:  # on the run's thread, or the page's
        with contextlib.suppress(RuntimeError):  # the server's loop is closed: nobody reads
            loop.call_soon_threadsafe(woken.set)

    reader = _Reader(wake)
    feed.readers.add(wake)
    last_sent = 0.0
    try:
        yield f"retry: {RETRY_MS}\n\n"
        while True:
            woken.clear()
            feed.touched = time.monotonic()
            updates = reader.read(feed.live)
            for update in updates:
                yield update
            if updates:
                last_sent = time.monotonic()
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
    finally:
        feed.readers.discard(wake)
        reader.read(None)  # unsubscribes


class _Reader:
    """One connection's view of the run its feed follows: the subscription, the run's state,
    and what was last sent of each part of the turn being written."""

    def __init__(self, wake: Callable[[], None]):
        self.wake = wake
        self.live: LiveRun | None = None
        self.sub: Subscription | None = None
        self.state: RunState | None = None
        self.sent: dict[str, tuple[int, int]] = {}  # part: (turn, its number of chunks)

    def read(self, live: LiveRun | None) -> list[str]:
        """The updates since the last call; ``live``: the run to follow now."""
        if live is not self.live or (self.sub is not None and self.sub.dropped):
            self._follow(live)
        if self.sub is None:
            return []
        for event in self.sub.drain():
            if self.state is None:  # the first event is the run's snapshot
                self.state = RunState(run=event.run)
            self.state.apply(event)
        state = self.state
        if state is None:
            return []
        updates = []
        sent = self.sent
        if TEXT in sent and (ended := _ended(state, sent[TEXT][0])) is not None:
            # the turn ended within the frame: its last words, until the page draws it
            updates.append(
                _update(state.run.id, ended.index, TEXT, to_html(ended.content, writing=False))
            )
            sent.clear()
        partial = state.partial
        for part, chunks in ((THINKING, state.thinking), (TEXT, state.text)):
            mark = (partial.index, len(chunks)) if partial is not None and any(chunks) else None
            if mark is not None and sent.get(part) != mark:
                sent[part] = mark
                html = to_html("".join(chunks), writing=part == TEXT)
                updates.append(_update(state.run.id, partial.index, part, html))
        if not state.live:
            self._follow(None)  # the run is over: nothing more will come from it
            self.live = live
        return updates

    def _follow(self, live: LiveRun | None) -> None:
        if self.sub is not None and self.live is not None:
            self.sub.notify = None
            self.live.unsubscribe(self.sub)
        self.live, self.sub, self.state, self.sent = live, None, None, {}
        if live is not None and live.status.live:
            self.sub = live.subscribe()
            self.sub.notify = self.wake


def _ended(state: RunState, index: int) -> Turn | None:
    """Turn ``index`` if it has finished (it is among the last finished turns)."""
    if state.partial is not None and state.partial.index == index:
        return None
    return next((t for t in reversed(state.run.turns[-3:]) if t.index == index), None)
