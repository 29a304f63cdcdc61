"""A blocking fragment that waits on an event queue and draws as events arrive (push, not poll).

Use it wherever a worker thread streams into the page (the live conversation, Prompt Lab
variants). The worker never touches Streamlit; it puts events on a queue. The page calls
:func:`pump` inside an ``@st.fragment`` (no ``run_every``)::

    @st.fragment
    def panel():
        placeholder = st.empty()                    # created inside the fragment
        pump(
            source=subscription,                    # anything with drain(timeout=...) -> list
            apply=lambda events: state.apply_all(events),   # fold events, no Streamlit calls
            draw=lambda: draw_partial(placeholder, state),  # redraw what changed; O(1) in
                                                            # the length of the transcript
            done=lambda: not state.live,            # stop looping (e.g. the run ended)
            on_exit=subscription_cleanup,           # runs however the loop ends
        )
    panel()

How it behaves (checked against Streamlit 1.67's source):

- It waits on the queue at most ``IDLE`` (0.1 s) at a time and, between waits, touches
  Streamlit (``key in st.session_state``), which is a yield point: a full-app rerun (a widget
  changed outside the fragment), a script stop or a closed tab raise ``RerunException`` /
  ``StopException`` there (``scriptrunner_utils/script_requests.py``
  ``on_scriptrunner_yield``; ``runtime/scriptrunner/script_runner.py``
  ``_maybe_handle_execution_control_request``). So a sidebar change, Pause, Stop or a closed
  tab pre-empts the fragment within ~0.1 s. With ``runner.fastReruns`` (the default) a full
  rerun arrives as a *stop* of this script runner, so the two cannot be told apart here:
  ``on_exit`` runs in both cases and the next full run starts a fresh fragment.
- A rerun request for *another* fragment (or for widgets inside this one) does not pre-empt a
  running fragment (``_fragment_run_should_not_preempt_script``): keep widgets out of a
  blocking fragment; put buttons in the page around it.
- Drawing is throttled to one frame: the first event after a quiet spell is drawn at once
  (no added latency); events arriving within ``FRAME`` (30 ms) of the last draw are folded
  into one draw at the end of that frame. ``draw`` should update ``st.empty()`` placeholders
  or append to containers made in the fragment, so each draw sends only what changed.
- Exceptions raised by ``apply``/``draw`` propagate (after ``on_exit``). Streamlit's control
  exceptions derive from ``BaseException`` and are never swallowed here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import streamlit as st

FRAME = 0.03  # seconds: events closer together than this are drawn together
IDLE = 0.1  # seconds: longest wait on the queue between two yields to Streamlit
_YIELD_KEY = "__duet_stream_panel_yield"


class EventSource(Protocol):
    def drain(self, max_events: int | None = None, timeout: float = 0.0) -> Sequence[Any]:
        """Events queued so far, waiting up to ``timeout`` seconds for the first one."""
        ...


def touch_streamlit() -> None:
    """A yield point without sending anything to the browser: lets a pending rerun or stop
    pre-empt the running fragment."""
    _ = _YIELD_KEY in st.session_state


def pump(
    source: EventSource,
    apply: Callable[[Sequence[Any]], None],
    draw: Callable[[], None],
    done: Callable[[], bool],
    *,
    on_exit: Callable[[], None] | None = None,
    frame: float = FRAME,
    idle: float = IDLE,
    clock: Callable[[], float] = time.monotonic,
    touch: Callable[[], None] = touch_streamlit,
) -> None:
    """Drain ``source`` and draw until ``done()``; see the module docstring.

    ``draw`` is called once before the loop (so the panel shows the current state at once),
    at most once per ``frame`` while events arrive, and once more when ``done()`` turns true.
    """
    idle = min(idle, 0.1)
    try:
        draw()
        last_draw = clock()
        dirty = False
        while not done():
            wait = max(0.0, last_draw + frame - clock()) if dirty else idle
            events = source.drain(timeout=wait) if wait > 0 else source.drain()
            if events:
                apply(events)
                dirty = True
            now = clock()
            if dirty and now - last_draw >= frame:
                draw()
                last_draw, dirty = now, False
            else:
                touch()
        draw()  # the final state: the last tokens, the outcome
    finally:
        if on_exit is not None:
            on_exit()
