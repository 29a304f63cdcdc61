"""The turn stream (``duet_ui.conversation.feed``) over real HTTP: uvicorn on 127.0.0.1 serving its
route, a live run with a scripted provider, httpx reading the Server-Sent Events."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator

import httpx2 as httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from duet_core.models import Run, RunStatus
from duet_core.providers.base import ThinkingDelta
from duet_core.providers.scripted import Hold, ScriptedProvider
from duet_core.run.engine import LiveRun, start_run
from duet_ui.conversation import feed as text_feed
from tests.run.conftest import make_config, wait_status


class ReadyServer(uvicorn.Server):
    """uvicorn that says when it listens."""

    def __init__(self, config: uvicorn.Config):
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()


@pytest.fixture
def server(monkeypatch) -> Iterator[str]:
    """The route on a free port; ``text_feed`` is back to "not serving" afterwards (the
    AppTest tests in this process draw every token through the page)."""
    monkeypatch.setattr(text_feed, "_serving", False)
    monkeypatch.setattr(text_feed, "_feeds", {})
    app = Starlette(routes=text_feed.routes())
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    uv = ReadyServer(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    assert uv.ready.wait(10), "uvicorn did not start"
    port = uv.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(5)


@pytest.fixture
def provider() -> ScriptedProvider:
    return ScriptedProvider()


def launch(provider, store, turns: int = 1) -> LiveRun:
    return start_run(
        Run(owner="alice", config=make_config(max_turns=turns)), lambda b: provider, store
    )


def read_events(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    """(event name, data) pairs of a Server-Sent Events stream."""
    name, data = "message", []
    for line in lines:
        if line == "":
            if data:
                yield name, "\n".join(data)
            name, data = "message", []
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())


def watch_unsubscribe(live: LiveRun) -> threading.Event:
    """An event set each time ``live`` lets a viewer go."""
    gone = threading.Event()
    unsubscribe = live.unsubscribe

    def watched(sub) -> None:
        unsubscribe(sub)
        gone.set()

    live.unsubscribe = watched
    return gone


@contextlib.contextmanager
def reading(server: str, live: LiveRun, first_words: str) -> Iterator[tuple]:
    """A feed following ``live``, read over HTTP until ``first_words`` show: (the feed, its
    events; closing them closes the response)."""
    feed = text_feed.open_feed()
    feed.follow(live)
    with httpx.Client(timeout=10) as client, client.stream("GET", server + feed.url) as response:
        events = read_events(response.iter_lines())
        messages(events, until=lambda u: first_words in u["html"])
        yield feed, events


def messages(events: Iterator[tuple[str, str]], until) -> list[dict]:
    """The feed's updates, read until ``until(update)`` is true (that one included)."""
    seen = []
    for name, data in events:
        assert name == "message"
        seen.append(json.loads(data))
        if until(seen[-1]):
            return seen
    raise AssertionError(f"the feed ended after {seen}")


def test_no_route_no_feed(monkeypatch):
    monkeypatch.setattr(text_feed, "_serving", False)
    assert text_feed.open_feed() is None  # the page draws the text itself


def test_a_feed_follows_the_runs_its_page_shows(server, provider, store):
    first, second = Hold(), Hold()
    provider.enqueue(
        [ThinkingDelta("Weighing it."), "Hello ", first, "world"], ["Second ", second, "turn"]
    )
    feed = text_feed.open_feed()
    with httpx.Client(timeout=10) as client, client.stream("GET", server + feed.url) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = read_events(response.iter_lines())
        # the feed is open before there is a run (the page opens it); Start: it follows the run
        live = launch(provider, store, turns=2)
        feed.follow(live)
        seen = messages(events, until=lambda u: u["part"] == "text")
        run = live.id
        # the thinking so far (no cursor), then the text so far with the cursor
        assert {"run": run, "turn": 0, "part": "thinking", "html": "<p>Weighing it.</p>\n"} in seen
        assert seen[-1] == {"run": run, "turn": 0, "part": "text", "html": "<p>Hello  ▌</p>\n"}
        first.release()
        seen = messages(events, until=lambda u: u["turn"] == 1)  # same connection, next turn
        # a turn's last words come before the next turn's (no cursor: it is finished)
        assert {"run": run, "turn": 0, "part": "text", "html": "<p>Hello world</p>\n"} in seen
        second.release()
        seen = messages(events, until=lambda u: u["html"] == "<p>Second turn</p>\n")
        wait_status(live, RunStatus.COMPLETED)
        # the next run the page shows comes on the same feed
        third = Hold()
        again = launch(ScriptedProvider().enqueue(["Once ", third, "more"]), store)
        feed.follow(again)
        seen = messages(events, until=lambda u: "Once" in u["html"])
        assert {u["run"] for u in seen} == {again.id}
        third.release()
        wait_status(again, RunStatus.COMPLETED)


def test_an_idle_feed_is_forgotten_and_a_new_one_made(server, monkeypatch):
    idle = text_feed.open_feed()
    assert text_feed.is_open(idle)
    monkeypatch.setattr(text_feed, "FEED_IDLE", 0.0)  # (nobody reads it, nobody follows)
    fresh = text_feed.open_feed()
    assert not text_feed.is_open(idle) and text_feed.is_open(fresh)
    assert httpx.get(server + idle.url, timeout=5).status_code == 404


def test_an_unknown_feed_is_refused(server):
    response = httpx.get(f"{server}{text_feed.PATH}/not-a-ticket", timeout=5)
    assert response.status_code == 404
    assert "no such feed" in response.text


def test_a_closed_connection_leaves_no_subscription(server, provider, store):
    hold = Hold()
    provider.enqueue(["Still ", hold, "going"])
    live = launch(provider, store)
    before = live.subscriber_count
    gone = watch_unsubscribe(live)
    with reading(server, live, "Still") as (feed, events):
        assert live.subscriber_count == before + 1
        assert len(feed.readers) == 1
        events.close()
    # the browser went away mid-turn (a closed or hidden tab): the reader unsubscribes
    assert gone.wait(5), "the reader did not unsubscribe"
    assert live.subscriber_count == before
    assert not feed.readers  # (it left the feed just before)
    hold.release()
    wait_status(live, RunStatus.COMPLETED)


def test_following_nothing_or_another_run_unsubscribes(server, provider, store):
    hold = Hold()
    provider.enqueue(["Wait ", hold, "here"])
    live = launch(provider, store)
    before = live.subscriber_count
    gone = watch_unsubscribe(live)
    with reading(server, live, "Wait") as (feed, _events):
        assert live.subscriber_count == before + 1
        feed.follow(None)  # the page shows no live run any more
        assert gone.wait(5), "the reader did not let the run go"
        assert live.subscriber_count == before
        assert len(feed.readers) == 1  # still connected, following nothing
    hold.release()
    wait_status(live, RunStatus.COMPLETED)


def test_model_output_is_made_safe():
    html = text_feed.to_html(
        "<script>alert(1)</script> [x](javascript:alert(1)) ![i](http://example.com/i.png)"
    )
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="javascript' not in html
    assert "<img" not in html  # drawing a turn fetches nothing
    assert text_feed.to_html("**bold** `code`") == (
        "<p><strong>bold</strong> <code>code</code> ▌</p>\n"
    )
