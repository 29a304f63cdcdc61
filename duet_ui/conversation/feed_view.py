"""The browser's end of the text feed (``duet_ui.conversation.feed``).

One hidden element on the conversation page (``page_feed``) holds the session's feed: an
EventSource opened with the page and kept across runs and turns. Each update names its slot
(run, turn, part); the slot is an ``st.html`` element the page drew in the turn's card
(``feed_slot``), so it is on screen as soon as the card is, without waiting for any component
code to run. An update whose slot is not drawn yet is kept and written at the next frame where
the slot is there. A hidden tab closes its connection (a browser opens six per server over
HTTP/1.1, shared by every tab: downloads and the page's own files must never wait behind
feeds) and opens it again when shown; the server then starts from what was written meanwhile.
"""

from __future__ import annotations

import html as html_lib

import streamlit as st

from duet_ui.conversation import feed as text_feed
from duet_ui.conversation.feed import TEXT, slot_key, to_html
from duet_ui.shared.transcript import TEXT_CLASS

PAGE_FEED_KEY = "duet_page_feed"  # hidden by live_draw.STYLE
FEED_STATE_KEY = "duet_text_feed"  # this session's Feed

_JS = """
const feeds = (window.__duetFeeds ??= new Map());  // url: {url, source, holders, idle}
const pending = new Map();  // slot key: html whose slot is not on the page yet
const IDLE_MS = 15000;  // no page holds a feed this long (another page is shown): it closes
let flushing = false;

function place(key, html) {  // true when the slot is on the page
  const slot = document.querySelector(`[data-duet-feed="${key}"]`);
  if (slot) slot.innerHTML = html;
  return slot !== null;
}

function write(key, html) {
  if (place(key, html)) {
    pending.delete(key);
  } else {
    pending.set(key, { html, since: performance.now() });
    later();
  }
}

function later() {
  if (!flushing && pending.size) {
    flushing = true;
    requestAnimationFrame(flush);
  }
}

function flush() {  // at each frame, until every kept update found its slot (or is 10 s old)
  flushing = false;
  for (const [key, { html, since }] of [...pending]) {
    if (place(key, html) || performance.now() - since > 10000) pending.delete(key);
  }
  later();
}

function connect(feed) {
  const source = new EventSource(feed.url);
  source.onmessage = (event) => {
    const { run, turn, part, html } = JSON.parse(event.data);
    for (const key of pending.keys()) {  // a turn before this one is drawn finished by now
      const [otherRun, otherTurn] = key.split("/");
      if (otherRun === run && Number(otherTurn) < turn) pending.delete(key);
    }
    write(`${run}/${turn}/${part}`, html);
  };
  feed.source = source;
}

function close(feed) {
  if (feed.source) feed.source.close();
  feed.source = null;
}

if (!window.__duetFeedVisibility) {
  window.__duetFeedVisibility = true;
  document.addEventListener("visibilitychange", () => {
    for (const feed of feeds.values()) {
      if (document.visibilityState === "hidden") close(feed);
      else if (!feed.source) connect(feed);
    }
  });
}

function release(feed) {  // one holder fewer; the last one gone, the feed closes a bit later
  feed.holders -= 1;
  if (feed.holders === 0) {
    feed.idle = setTimeout(() => {
      if (feed.holders === 0) {
        close(feed);
        feeds.delete(feed.url);
      }
    }, IDLE_MS);
  }
}

export default function (component) {
  const holder = component.parentElement;
  const url = component.data && component.data.url;
  const held = holder.__duetFeed;
  if (held && held.url !== url) {  // the page has a new feed (or none): let the old one go
    holder.__duetFeed = null;
    release(held);
  }
  if (!url) return () => {};
  if (!holder.__duetFeed) {  // (called again whenever the page is drawn: hold once)
    let feed = feeds.get(url);
    if (!feed) {
      feed = { url, source: null, holders: 0, idle: 0 };
      feeds.set(url, feed);
      if (document.visibilityState !== "hidden") connect(feed);
    }
    feed.holders += 1;
    clearTimeout(feed.idle);
    holder.__duetFeed = feed;
  }
  return () => {  // the element goes (another page is shown); a reload ends the feed anyway
    const feed = holder.__duetFeed;
    holder.__duetFeed = null;
    if (feed) release(feed);
  };
}
"""

_component = st.components.v2.component("duet_text_feed", js=_JS, isolate_styles=False)


def session_feed() -> text_feed.Feed | None:
    """This browser session's feed (made on its first call); None without the route."""
    feed = st.session_state.get(FEED_STATE_KEY)
    if (feed is None or not text_feed.is_open(feed)) and text_feed.serving():
        feed = st.session_state[FEED_STATE_KEY] = text_feed.open_feed()
    return feed


def page_feed(live) -> None:
    """The session's feed, held by a hidden element on the page, following ``live`` (the
    run the page shows, if it is live in this process; None: nothing). Call it in every full
    run of the page, before the live panel."""
    feed = session_feed()
    if feed is None:
        return
    feed.follow(live)
    _component(data={"url": feed.url}, key=PAGE_FEED_KEY)


def feed_slot(placeholder, run_id: str, turn: int, part: str, text: str) -> None:
    """In ``placeholder``: turn ``turn``'s ``part`` (``text`` or ``thinking``) so far, as a
    slot the feed then writes into."""
    key = html_lib.escape(slot_key(run_id, turn, part))
    body = to_html(text, writing=part == TEXT)
    slot = f'class="{TEXT_CLASS} duet-live-text" data-duet-feed="{key}"'
    placeholder.html(f"<div {slot}>{body}</div>")
