"""stream_panel.pump (the blocking loop) and the live view's subscription, without a browser.

Streamlit pre-empts a running fragment by raising StopException / RerunException at a yield
point (``touch`` here); the tests raise it the same way.
"""

from __future__ import annotations

import threading

import pytest
from streamlit.runtime.scriptrunner_utils.exceptions import StopException

from duet_core.models import BotConfig, Run, RunConfig
from duet_core.providers.scripted import Hold, ScriptedProvider
from duet_core.run.engine import LiveRun
from duet_core.run.events import TextDelta
from duet_core.run.state import RunState
from duet_ui.conversation.session import LiveView
from duet_ui.shared.stream_panel import pump


class Batches:
    """A source whose drains return prepared batches, then nothing."""

    def __init__(self, *batches: list) -> None:
        self.batches = list(batches)
        self.timeouts: list[float] = []

    def drain(self, max_events=None, timeout: float = 0.0) -> list:
        self.timeouts.append(timeout)
        return self.batches.pop(0) if self.batches else []


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_is_drawn_once_and_the_end_once_more() -> None:
    applied, draws = [], []
    source = Batches([1, 2, 3])
    pump(
        source,
        apply=applied.extend,
        draw=lambda: draws.append(list(applied)),
        done=lambda: len(applied) == 3,
        block=True,
        touch=lambda: None,
    )
    assert applied == [1, 2, 3]
    assert draws == [[], [1, 2, 3]]  # the state at once, then the final state (done)


def test_events_within_a_frame_are_coalesced_and_idle_waits_are_short() -> None:
    clock = Clock()
    applied, draws, touches = [], [], []
    batches = [[], [], [], [], [1], [2], [3], [], [], "stop"]

    class Source:
        def drain(self, max_events=None, timeout: float = 0.0) -> list:
            assert timeout <= 0.1  # never blocks longer than Streamlit may wait
            clock.now += 0.01  # each wait takes 10 ms
            batch = batches.pop(0)
            return [] if batch == "stop" else batch

    pump(
        Source(),
        apply=applied.extend,
        draw=lambda: draws.append((clock.now, list(applied))),
        done=lambda: not batches,
        frame=0.03,
        block=True,
        clock=clock,
        touch=lambda: touches.append(clock.now),
    )
    # the first event after a quiet spell is drawn at once; 2 and 3 arrive within the next
    # frame (30 ms) and are drawn together at its end
    assert [d[1] for d in draws] == [[], [1], [1, 2, 3], [1, 2, 3]]
    assert touches  # between draws the loop still yields to Streamlit


def test_urgent_events_are_drawn_at_once_not_at_the_end_of_the_frame() -> None:
    """A turn's first token right after the draw of the turn before it is not held."""
    clock = Clock()
    applied, draws = [], []
    batches = [["end of turn 1"], ["first token of turn 2"], ["token"], *[[]] * 6, "stop"]

    class Source:
        def drain(self, max_events=None, timeout: float = 0.0) -> list:
            clock.now += 0.005  # each event arrives 5 ms after the last: well within a frame
            batch = batches.pop(0)
            return [] if batch == "stop" else batch

    pump(
        Source(),
        apply=applied.extend,
        draw=lambda: draws.append(list(applied)),
        done=lambda: not batches,
        urgent=lambda: applied[-1] != "token",
        frame=0.03,
        block=True,
        clock=clock,
        touch=lambda: None,
    )
    assert draws == [
        [],
        ["end of turn 1"],
        ["end of turn 1", "first token of turn 2"],  # at once, though within the frame
        ["end of turn 1", "first token of turn 2", "token"],  # held to the frame's end
        ["end of turn 1", "first token of turn 2", "token"],  # the final draw
    ]


def test_not_blocking_draws_once_and_keeps_the_subscription() -> None:
    exits, draws = [], []
    pump(
        Batches([1]),
        apply=lambda events: None,
        draw=lambda: draws.append(1),
        done=lambda: False,
        on_exit=lambda: exits.append(1),
        block=False,
    )
    assert draws == [1] and exits == []


@pytest.fixture
def live_run():
    provider = ScriptedProvider()
    hold = Hold()
    provider.enqueue(["Hello ", hold, "world"])
    bots = [BotConfig(name="Ada"), BotConfig(name="Bob")]
    live = LiveRun(Run(config=RunConfig(topic="Tea?", max_turns=2, bots=bots)), lambda b: provider)
    live.start()
    assert hold.reached.wait(5)
    yield live
    live.stop()
    assert live.join(5)


def test_a_closed_tab_stops_the_loop_and_unsubscribes(live_run: LiveRun) -> None:
    view = LiveView(RunState.of(live_run.snapshot().run), live_run)
    sub = view.attach()
    assert live_run.subscriber_count == 1
    touched = threading.Event()

    def touch() -> None:  # what Streamlit does at a yield point once the session closed
        touched.set()
        raise StopException()

    with pytest.raises(StopException):
        pump(
            sub,
            apply=view.apply,
            draw=lambda: None,
            done=lambda: not view.is_live,
            on_exit=lambda: view.detach(sub),
            block=True,
            touch=touch,
        )
    assert touched.is_set()
    assert live_run.subscriber_count == 0 and sub.dropped and view.sub is None
    # a later run of the page subscribes again and starts from a snapshot
    again = view.attach()
    assert again is not sub and live_run.subscriber_count == 1
    view.apply(again.drain())
    assert view.state.partial_turn().content == "Hello "
    view.apply([TextDelta(view.state.partial.index, "there")])
    assert view.state.partial_turn().content == "Hello there"
    view.close()
    assert live_run.subscriber_count == 0


def _queue_from_a_fragment() -> None:
    import streamlit as st

    from duet_ui.shared import stream_panel

    @st.fragment
    def panel() -> None:
        st.session_state["queued"] = stream_panel.run_after_script()

    panel()
    st.session_state["outside"] = stream_panel.run_after_script()


def test_run_after_script_queues_nothing_outside_a_server() -> None:
    """Under AppTest (and outside any fragment) no fragment run is queued: AppTest's runner
    would run the fragment right after the script, and a live panel would block in it."""
    from streamlit.testing.v1 import AppTest

    from duet_ui.shared.stream_panel import run_after_script

    assert run_after_script() is False  # no script run at all
    at = AppTest.from_function(_queue_from_a_fragment).run()
    assert not at.exception
    assert at.session_state["queued"] is False
    assert at.session_state["outside"] is False
