"""A blocking fragment that waits on an event queue and draws as events arrive (push, not poll).

Use it wherever a worker thread streams into the page (the live conversation, Prompt Lab
variants). The worker never touches Streamlit; it puts events on a queue. The page calls
:func:`pump` inside an ``@st.fragment`` whose ``run_every`` is set only while there is
something to stream::

    @st.fragment(run_every=KICK if streaming else None)
    def panel():
        placeholder = st.empty()                    # made inside the fragment
        pump(
            source=subscription,                    # anything with drain(timeout=...) -> list
            apply=state.apply_all,                  # fold events; no Streamlit calls
            draw=lambda: draw_text(placeholder, state),  # send only what changed
            done=lambda: not state.streaming,       # stop looping
            on_exit=lambda: unsubscribe(subscription),  # runs however a blocking loop ends
        )
        if not state.streaming and stream_panel.in_fragment_run():
            st.rerun()                              # e.g. redraw the page's controls once
    panel()

In the full script run, ``pump`` draws once and returns, so the script finishes (Streamlit
then clears stale elements and the page is idle). The fragment then runs on its own, and in
that fragment run ``pump`` blocks: it loops until ``done()``. Call :func:`run_after_script`
in the full run's call of the fragment so that this fragment run starts on the server the
moment the full run ends; ``run_every`` (``KICK``, 0.1 s) only starts it when the browser's
timer fires, a round trip plus up to 0.1 s later, and stays as the fallback. Only in a run
that follows a user's action (the live panel: the script run of the Start click): queued in a fresh
session's first run (a new page, a reload) it left the page blank in Chromium. Under AppTest
neither happens (it never runs a fragment on its own): nothing blocks there.

How the loop behaves (checked against Streamlit 1.67's source):

- It waits on the queue at most ``IDLE`` (0.1 s) at a time and, between waits, touches
  Streamlit (``key in st.session_state``), which is a yield point: a full-app rerun (a widget
  changed outside the fragment), a script stop or a closed tab raise ``RerunException`` /
  ``StopException`` there (``scriptrunner_utils/script_requests.py``
  ``on_scriptrunner_yield``; ``runtime/scriptrunner/script_runner.py``
  ``_maybe_handle_execution_control_request``). So a sidebar change, Pause, Stop or a closed
  tab pre-empts the fragment within ~0.1 s. With ``runner.fastReruns`` (the default) a full
  rerun arrives as a *stop* of this script runner, so the two cannot be told apart here:
  ``on_exit`` runs in both cases and the next run attaches again.
- A rerun request for *another* fragment (or for widgets inside this one, or this fragment's
  own ``run_every`` ticks) does not pre-empt a running fragment
  (``_fragment_run_should_not_preempt_script``): keep widgets out of a blocking fragment; put
  buttons in the page around it.
- Drawing is throttled to one frame: the first event after a quiet spell is drawn at once
  (no added latency); events arriving within ``FRAME`` (30 ms) of the last draw are folded
  into one draw at the end of that frame, unless ``urgent()`` says they change what is on
  screen in a way that must not wait (the live panel: a turn started or finished, or a turn's
  first text: a first token is never held behind the draw of the turn before it, nor
  behind a heartbeat). ``draw`` should update ``st.empty()`` placeholders
  or append to containers made in the fragment, so each draw sends only what changed. Keyed
  containers may be made once per fragment run only (a key is unique within a run).
- Exceptions raised by ``apply``/``draw`` propagate (after ``on_exit``). Streamlit's control
  exceptions derive from ``BaseException`` and are never swallowed here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import RerunData, get_script_run_ctx
from streamlit.runtime.scriptrunner_utils.script_run_context import ThreadState

KICK = 0.1  # seconds: run_every that starts the blocking loop after a full script run
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


def in_fragment_run() -> bool:
    """True in a fragment's own run (``run_every`` or a fragment rerun); False in the full
    script run and under AppTest."""
    ctx = get_script_run_ctx(suppress_warning=True)
    return bool(ctx is not None and ctx.fragment_ids_this_run)


def run_after_script() -> bool:
    """Queue a run of the calling fragment that starts as soon as the current full script
    run ends (call it from inside the fragment, in the full run). True if queued.

    The request is the one the browser's ``run_every`` timer sends (the fragment's id, not
    fragment-scoped), made on the server instead: it never pre-empts the full run
    (``_fragment_run_should_not_preempt_script``), and the script runner takes it up right
    after the run (``ScriptRunner._run_script_thread`` -> ``on_scriptrunner_ready``). A full
    rerun requested meanwhile (a widget change) absorbs it. Not under AppTest (its runner
    would run, and block in, the fragment): there it does nothing.
    """
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None or ctx.fragment_ids_this_run or not ctx.script_requests:
        return False
    fragment_id = ThreadState.get().fragment_id
    if not fragment_id:
        return False
    if type(Runtime._instance) is not Runtime:  # AppTest's runtime is a mock
        return False
    return ctx.script_requests.request_rerun(
        RerunData(
            query_string=ctx.query_string,
            page_script_hash=ctx.page_script_hash,
            fragment_id_queue=[fragment_id],
            context_info=ctx.context_info,
        )
    )


def pump(
    source: EventSource,
    apply: Callable[[Sequence[Any]], None],
    draw: Callable[[], None],
    done: Callable[[], bool],
    *,
    on_exit: Callable[[], None] | None = None,
    urgent: Callable[[], bool] | None = None,
    heartbeat: float | None = None,
    frame: float = FRAME,
    idle: float = IDLE,
    clock: Callable[[], float] = time.monotonic,
    touch: Callable[[], None] = touch_streamlit,
    block: bool | None = None,
) -> None:
    """Drain ``source`` and draw until ``done()``; see the module docstring.

    ``draw`` is called once before the loop (so the panel shows the current state at once),
    at most once per ``frame`` while events arrive, every ``heartbeat`` seconds when given
    (a clock on screen), at once after events for which ``urgent()`` (if given) is true,
    and once more when ``done()`` turns true. ``block`` (default:
    :func:`in_fragment_run`) False: draw once and return without calling ``on_exit``.
    """
    if not (in_fragment_run() if block is None else block):
        draw()
        return
    idle = min(idle, 0.1)
    try:
        draw()
        last_draw = clock()
        dirty = False
        while not done():
            wait = max(0.0, last_draw + frame - clock()) if dirty else idle
            events = source.drain(timeout=wait) if wait > 0 else source.drain()
            at_once = False
            if events:
                apply(events)
                dirty = True
                at_once = urgent is not None and urgent()
            now = clock()
            if heartbeat is not None and now - last_draw >= heartbeat:
                dirty = True
            if dirty and (at_once or now - last_draw >= frame):
                draw()
                last_draw, dirty = now, False
            else:
                touch()
        draw()  # the final state: the last tokens, the outcome
    finally:
        if on_exit is not None:
            on_exit()
