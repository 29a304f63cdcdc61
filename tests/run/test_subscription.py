"""A viewer's queue of run events: bounded, and able to wake a reader that does not poll."""

from __future__ import annotations

from duet_core.run.events import Subscription, TextDelta


def test_notify_runs_after_each_queued_event_and_not_for_a_refused_one():
    sub = Subscription(maxsize=2)
    woken: list[int] = []
    sub.notify = lambda: woken.append(len(sub._queue.queue))  # the event is there already
    assert sub.offer(TextDelta(0, "a")) and sub.offer(TextDelta(0, "b"))
    assert woken == [1, 2]
    assert not sub.offer(TextDelta(0, "c"))  # full: the viewer is gone, nothing to wake
    assert sub.dropped and woken == [1, 2]
    assert [e.text for e in sub.drain()] == ["a", "b"]


def test_without_notify_events_just_queue():
    sub = Subscription()
    assert sub.offer(TextDelta(3, "x"))
    assert sub.drain(timeout=0.01) == [TextDelta(3, "x")]
