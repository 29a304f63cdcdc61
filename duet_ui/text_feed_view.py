"""The text of the turn being written, fed by its own connection (``duet_ui.text_feed``).

A component mounted once per turn: it shows the text so far and follows the run's stream; each
update replaces its HTML (made safe on the server), without a round through Streamlit's page
tree. The page's components share one connection per run, kept between turns; it closes when
the run ends or when no turn has been on screen for a while (the person left the page).
"""

from __future__ import annotations

import streamlit as st

from duet_ui import text_feed
from duet_ui.text_feed import TEXT, to_html

PAGE_FEED_KEY = "duet_page_feed"  # hidden by live_draw.STYLE

_JS = """
// One EventSource per run URL, shared by the turns' components on this page and kept open
// between turns (a turn's component goes when the turn ends, the next one comes moments later).
const streams = (window.__duetStreams ??= new Map());
const IDLE_MS = 15000;  // no turn on screen this long: the stream closes

function connect(stream) {
  const source = new EventSource(stream.url);
  source.onmessage = (event) => {
    const { turn, part, html } = JSON.parse(event.data);
    if (turn !== stream.turn) stream.parts.clear();  // only the turn being written is kept
    stream.turn = turn;
    stream.parts.set(part, html);
    const box = stream.boxes.get(`${turn}/${part}`);
    if (box) box.innerHTML = html;
  };
  source.addEventListener("end", () => close(stream));  // the run is over
  stream.source = source;
}

function streamFor(url) {
  let stream = streams.get(url);
  if (!stream) {
    stream = { url, source: null, turn: null, parts: new Map(), boxes: new Map(), idle: 0 };
    if (document.visibilityState !== "hidden") connect(stream);
    streams.set(url, stream);
  }
  clearTimeout(stream.idle);
  return stream;
}

function close(stream) {
  if (stream.source) stream.source.close();
  stream.source = null;
  if (streams.get(stream.url) === stream) streams.delete(stream.url);
}

// A hidden tab gives its connections back (a browser opens only six per server over HTTP/1.1,
// shared by every tab: downloads and the page's own files must never wait behind a feed);
// shown again, it reconnects and the server starts with what was written meanwhile.
if (!window.__duetFeedVisibility) {
  window.__duetFeedVisibility = true;
  document.addEventListener("visibilitychange", () => {
    for (const stream of streams.values()) {
      if (document.visibilityState === "hidden" && stream.source) {
        stream.source.close();
        stream.source = null;
      } else if (document.visibilityState === "visible" && !stream.source) {
        connect(stream);
      }
    }
  });
}

function release(box) {
  const stream = box._stream;
  if (!stream) return;
  box._stream = null;
  if (stream.boxes.get(box._key) === box) stream.boxes.delete(box._key);
  if (stream.boxes.size === 0) {
    clearTimeout(stream.idle);
    stream.idle = setTimeout(() => stream.boxes.size || close(stream), IDLE_MS);
  }
}

export default function (component) {
  const { data, parentElement } = component;
  let box = parentElement.querySelector(":scope > .duet-live-text");
  if (!data || !data.url) {  // page_feed() without a live run
    if (box) release(box);
    return;
  }
  if (!box) {
    box = document.createElement("div");
    box.className = "duet-live-text";
    parentElement.appendChild(box);
  }
  const key = `${data.turn}/${data.part}`;
  if (box._url !== data.url || box._key !== key) {
    release(box);
    const stream = streamFor(data.url);
    Object.assign(box, { _url: data.url, _key: key, _stream: stream });
    stream.boxes.set(key, box);
    // what the page knew when it drew the turn, or what the stream has since, if longer
    const streamed = (stream.turn === data.turn && stream.parts.get(data.part)) || "";
    box.innerHTML = streamed.length > data.html.length ? streamed : data.html;
  }
  return () => release(box);  // the component goes: the finished turn is drawn in its place
}
"""

# As Streamlit draws markdown in a chat message (the finished turn looks the same).
_CSS = """
.duet-live-text { overflow-wrap: anywhere; }
.duet-live-text p, .duet-live-text ul, .duet-live-text ol, .duet-live-text pre,
.duet-live-text table, .duet-live-text blockquote { margin: 0 0 1rem; }
.duet-live-text > :last-child { margin-bottom: 0; }
.duet-live-text h1, .duet-live-text h2, .duet-live-text h3 { margin: 0.5rem 0 0.75rem; }
.duet-live-text code { font-size: 0.875em; padding: 0.1em 0.25em; border-radius: 0.25rem;
  background: var(--st-secondary-background-color, rgba(0, 0, 0, 0.05)); }
.duet-live-text pre { padding: 0.75rem; overflow-x: auto; border-radius: 0.5rem;
  background: var(--st-secondary-background-color, rgba(0, 0, 0, 0.05)); }
.duet-live-text pre code { padding: 0; background: none; }
.duet-live-text blockquote { padding-left: 1rem; border-left: 3px solid rgba(0, 0, 0, 0.2); }
.duet-live-text table { border-collapse: collapse; }
.duet-live-text th, .duet-live-text td { padding: 0.25rem 0.5rem;
  border: 1px solid rgba(0, 0, 0, 0.1); }
"""

_component = st.components.v2.component("duet_live_text", js=_JS, css=_CSS, isolate_styles=False)


def feed_text(url: str, turn_index: int, part: str, text: str) -> None:
    """Turn ``turn_index``'s ``part`` (``text`` or ``thinking``) so far, then what ``url``
    (the run's feed) sends for it (here, in the current container)."""
    html = to_html(text, writing=part == TEXT)
    _component(data={"url": url, "turn": turn_index, "part": part, "html": html})


def page_feed(url: str | None) -> None:
    """The component, hidden, on the conversation page whether a run is live or not:

    - before a run, the browser loads its code with the page, not while the first reply's
      tokens wait for it (as with the message box, ``live_controls.interject_box``);
    - while the run ``url`` streams, it opens that stream with the page that Start draws
      (before the first turn's card is drawn, which then shows at once what came so far) and
      keeps it open between turns.
    """
    if text_feed.serving():
        data = {"url": url, "turn": -1, "part": TEXT, "html": ""} if url else None
        _component(data=data, key=PAGE_FEED_KEY)
