"""The concurrency per provider: cut in half by a 429 (once per burst), held back for a while,
raised by one per success up to its ceiling; a request answered 429 before it streamed is
sent again once the limit lets it, one that streamed never is."""

from __future__ import annotations

import threading

import pytest

from duet_core.batch.limits import LimitedProvider, ProviderLimit
from duet_core.errors import Overloaded, RateLimited, StreamStalled
from duet_core.models import BotConfig
from duet_core.providers.base import TextDelta
from duet_core.providers.scripted import ScriptedProvider


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def never(_timeout: float) -> bool:
    return False


def test_a_cut_halves_once_per_burst_and_successes_climb_back():
    clock = Clock()
    limit = ProviderLimit(8, clock, seed=1)
    sent = [limit.acquire(never) for _ in range(8)]
    assert limit.state().in_flight == 8
    clock.now += 1
    hold = limit.backed_off(sent[0])
    assert limit.limit == 4 and 0.25 <= hold <= 0.5
    limit.backed_off(sent[1])  # sent before the cut: the same burst
    assert limit.limit == 4 and limit.state().cuts == 1
    for _ in range(8):
        limit.release()
    clock.now += hold
    again = limit.acquire(never)
    clock.now += 1
    limit.backed_off(again)  # sent after the cut: cuts again, and holds twice as long
    assert limit.limit == 2 and limit.state().held_for > 0.5 * 0.5
    limit.release()
    for _ in range(10):
        limit.succeeded()
    assert limit.limit == 8 and limit.state().lowest == 2  # never above the ceiling


def test_acquire_waits_for_a_free_slot_and_gives_up_when_told():
    limit = ProviderLimit(1)
    limit.acquire(never)
    stop = threading.Event()
    got = []
    t = threading.Thread(target=lambda: got.append(limit.acquire(lambda s: stop.wait(s))))
    t.start()
    assert not got  # the one slot is taken
    limit.release()
    t.join(5)
    assert got and got[0] is not None
    waiting = threading.Thread(target=lambda: got.append(limit.acquire(lambda s: stop.wait(s))))
    waiting.start()
    stop.set()
    waiting.join(5)
    assert got[-1] is None


BOT = BotConfig(name="Ada")


def test_a_rate_limit_before_streaming_is_sent_again_after_the_hold():
    inner = ScriptedProvider().enqueue(
        [RateLimited("slow down")],
        [Overloaded("busy")],
        [StreamStalled("no answer")],
        "hello there",
    )
    limit = ProviderLimit(4, first_backoff=0.01)
    stream = LimitedProvider(inner, limit).open("", [{"role": "user", "content": "hi"}], BOT)
    text = "".join(c.text for c in stream if isinstance(c, TextDelta))
    assert text == "hello there" and len(inner.calls) == 4
    state = limit.state()
    assert state.in_flight == 0 and state.cuts == 3


def test_a_rate_limit_after_streaming_began_is_not_sent_again():
    inner = ScriptedProvider().enqueue(["partial ", RateLimited("cut")])
    limit = ProviderLimit(4, first_backoff=0.01)
    stream = LimitedProvider(inner, limit).open("", [{"role": "user", "content": "hi"}], BOT)
    with pytest.raises(RateLimited):
        list(stream)
    assert len(inner.calls) == 1 and limit.state().in_flight == 0


def test_closing_while_held_back_ends_quietly():
    inner = ScriptedProvider().enqueue([RateLimited("slow down")])
    limit = ProviderLimit(1, first_backoff=30.0)
    stream = LimitedProvider(inner, limit).open("", [{"role": "user", "content": "hi"}], BOT)
    got = []
    reader = threading.Thread(target=lambda: got.append(list(stream)))
    reader.start()
    assert inner.wait_calls(1)
    stream.close()  # a Stop while the request waits out its hold
    reader.join(5)
    assert got == [[]]
    assert limit.state().in_flight == 0 and len(inner.calls) == 1
