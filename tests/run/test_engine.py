"""The conversation engine with a scripted provider and a real (SQLite) store."""

from __future__ import annotations

import time

import pytest

from duet_core.errors import ConfigError, RateLimited
from duet_core.models import BotConfig, Run, RunStatus
from duet_core.providers.base import Finish, Usage
from duet_core.providers.base import TextDelta as Text
from duet_core.providers.scripted import Hold
from duet_core.run import viewers as viewers_module
from duet_core.run.engine import LiveRun, start_run
from duet_core.run.events import (
    BotUpdated,
    Snapshot,
    StatusChanged,
    TextDelta,
    TurnFinished,
    TurnStarted,
)
from tests.run.conftest import make_config, wait_status


def launch(provider, store, **config_kw) -> LiveRun:
    return start_run(Run(owner="alice", config=make_config(**config_kw)), lambda b: provider, store)


def test_bots_alternate_and_each_sees_its_own_view(provider, store):
    provider.enqueue("Numbers are discovered.", "Numbers are poems.", "No, axioms.", "Rhymes!")
    live = launch(provider, store, max_turns=4)
    assert wait_status(live, RunStatus.COMPLETED) is RunStatus.COMPLETED
    assert live.join(10)

    calls = provider.calls
    assert [c.bot.name for c in calls] == ["Ada", "Bob", "Ada", "Bob"]
    assert calls[0].system == "You are Ada, a mathematician."
    assert calls[0].messages == [{"role": "user", "content": "Is maths invented?"}]
    # Bob: topic and Ada's turn are both "user" for him, merged into one message
    assert calls[1].system == "You are Bob, a poet."
    assert calls[1].messages == [
        {"role": "user", "content": "Is maths invented?\n\nNumbers are discovered."}
    ]
    assert [m["role"] for m in calls[2].messages] == ["user", "assistant", "user"]
    assert calls[2].messages[1]["content"] == "Numbers are discovered."
    assert [m["role"] for m in calls[3].messages] == ["user", "assistant", "user"]

    saved = store.get_run(live.id)
    assert saved.status is RunStatus.COMPLETED and saved.stop_reason == "max_turns"
    assert [t.content for t in saved.turns] == [
        "Numbers are discovered.",
        "Numbers are poems.",
        "No, axioms.",
        "Rhymes!",
    ]
    assert all(t.ttft_ms is not None and t.latency_ms >= t.ttft_ms for t in saved.turns)


def test_first_speaker_is_respected(provider, store):
    live = launch(provider, store, max_turns=2, first_speaker=1)
    wait_status(live, RunStatus.COMPLETED)
    assert [c.bot.name for c in provider.calls] == ["Bob", "Ada"]


def test_stop_mid_stream_closes_the_stream_and_keeps_the_partial_turn(provider, store):
    hold = Hold()
    provider.enqueue(["Half a", " thought", hold, " never sent"])
    live = launch(provider, store)
    assert hold.reached.wait(5)

    started = time.perf_counter()
    live.stop()
    assert live.join(1.0), "the run's thread must end within a second of Stop"
    elapsed = time.perf_counter() - started

    assert elapsed < 1.0
    assert provider.calls[0].stream.closed
    saved = store.get_run(live.id)
    assert saved.status is RunStatus.STOPPED and saved.stop_reason == "user"
    assert len(saved.turns) == 1
    assert saved.turns[0].content == "Half a thought"
    assert saved.turns[0].finish_reason == "stopped"


def test_each_turn_is_committed_when_it_finishes(provider, store):
    hold = Hold()
    provider.enqueue("first turn", ["second", hold])
    live = launch(provider, store)
    assert hold.reached.wait(5)
    saved = store.get_run(live.id)  # the run is still going
    assert saved.status is RunStatus.RUNNING
    assert [t.content for t in saved.turns] == ["first turn"]
    live.stop()
    live.join(1)


def test_pause_between_turns_then_resume(provider, store):
    hold = Hold()
    provider.enqueue(["one", hold], "two")
    live = launch(provider, store, max_turns=2)
    assert hold.reached.wait(5)
    live.pause()
    assert live.status is RunStatus.RUNNING  # the turn in progress finishes first
    hold.release()
    assert wait_status(live, RunStatus.PAUSED) is RunStatus.PAUSED
    assert len(provider.calls) == 1
    # a message typed while paused joins at once, before the next turn
    sub = live.subscribe()
    assert isinstance(sub.get(timeout=1), Snapshot)
    live.interject("Please keep it short.", author="Carol")
    while True:
        event = sub.get(timeout=5)
        assert event is not None
        if isinstance(event, TurnFinished):
            break
    assert event.turn.by_person and event.turn.bot_name == "Carol"
    assert len(provider.calls) == 1 and live.status is RunStatus.PAUSED
    assert store.get_run(live.id).status is RunStatus.PAUSED

    live.resume()
    assert wait_status(live, RunStatus.COMPLETED) is RunStatus.COMPLETED
    assert len(provider.calls) == 2
    assert provider.calls[1].messages == [
        {"role": "user", "content": "Is maths invented?\n\none\n\nPlease keep it short."}
    ]


def test_stop_while_paused(provider, store):
    hold = Hold()
    provider.enqueue(["one", hold])
    live = launch(provider, store)
    assert hold.reached.wait(5)
    live.pause()
    hold.release()
    wait_status(live, RunStatus.PAUSED)
    live.stop()
    assert live.join(10)
    assert store.get_run(live.id).status is RunStatus.STOPPED


def test_mid_run_update_applies_from_that_bots_next_turn(provider, store):
    hold = Hold()
    provider.enqueue(["Ada one", hold], "Bob one", "Ada two", "Bob two")
    live = launch(provider, store, max_turns=4)
    assert hold.reached.wait(5)
    new_ada = live.update_bot(0, {"temperature": 1.3})
    live.update_bot(1, {"system_prompt": "You are Bob, a grumpy poet."})
    assert new_ada.temperature == 1.3
    hold.release()
    wait_status(live, RunStatus.COMPLETED)

    temps = [c.bot.temperature for c in provider.calls]
    assert temps == [0.7, 0.7, 1.3, 0.7]
    assert provider.calls[1].system == "You are Bob, a grumpy poet."
    saved = store.get_run(live.id)
    assert [t.config.temperature for t in saved.turns] == [0.7, 0.7, 1.3, 0.7]
    assert saved.turns[0].config.system_prompt == "You are Ada, a mathematician."
    assert saved.turns[1].config.system_prompt == "You are Bob, a grumpy poet."
    assert saved.config.bots[0].temperature == 0.7  # the bots at start stay as they were


def test_invalid_update_is_refused_and_changes_nothing(provider, store):
    hold = Hold()
    provider.enqueue(["x", hold])
    live = launch(provider, store)
    assert hold.reached.wait(5)
    with pytest.raises(ConfigError, match="temperature"):
        live.update_bot(0, {"temperature": 5})
    with pytest.raises(ConfigError, match="does not take temperature"):
        live.update_bot(1, {"provider": "anthropic", "model": "claude-sonnet-5-5"})
    assert live.bots()[0].temperature == 0.7 and live.bots()[1].provider == "demo"
    live.stop()
    live.join(1)


def test_interjection_joins_before_the_next_turn(provider, store):
    hold = Hold()
    provider.enqueue(["Ada speaks", hold], "Bob answers")
    live = launch(provider, store, max_turns=2)
    assert hold.reached.wait(5)
    live.interject("What about music?", author="Carol")
    hold.release()
    wait_status(live, RunStatus.COMPLETED)

    saved = store.get_run(live.id)
    assert [(t.bot_index, t.bot_name) for t in saved.turns] == [
        (0, "Ada"),
        (None, "Carol"),
        (1, "Bob"),
    ]
    assert saved.turns[1].finish_reason == "person"
    assert provider.calls[1].messages[-1]["content"].endswith("Ada speaks\n\nWhat about music?")
    with pytest.raises(ConfigError, match="ended"):
        live.interject("too late")


def test_blank_interjection_is_refused(provider, store):
    live = launch(provider, store, max_turns=1)
    with pytest.raises(ConfigError, match="Type a message"):
        live.interject("   ")
    live.join(2)


def test_late_subscriber_gets_a_snapshot_then_live_events(provider, store):
    hold = Hold()
    provider.enqueue("Ada done.", ["Bob half", hold, " and more"])
    live = launch(provider, store, max_turns=2)
    assert hold.reached.wait(5)

    sub = live.subscribe()
    snap = sub.get(timeout=1)
    assert isinstance(snap, Snapshot)
    assert [t.content for t in snap.run.turns] == ["Ada done."]
    assert snap.partial is not None and snap.partial.content == "Bob half"
    assert snap.partial.bot_name == "Bob"

    hold.release()
    events = []
    while not (events and isinstance(events[-1], StatusChanged)):
        event = sub.get(timeout=5)
        assert event is not None
        events.append(event)
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert "".join(deltas) == " and more"
    finished = [e.turn.content for e in events if isinstance(e, TurnFinished)]
    assert finished == ["Bob half and more"]
    assert live.subscriber_count == 0  # the run ended: no viewer is kept


def test_event_order_for_one_turn(provider, store):
    provider.enqueue([Text("Hi"), Text(" there"), Usage(10, 2), Finish("stop")])
    run = Run(owner="alice", config=make_config(max_turns=1))
    store.create_run(run)
    live = LiveRun(run, lambda b: provider, store)
    sub = live.subscribe()
    live.start()
    kinds = []
    while not kinds or kinds[-1] != "StatusChanged":
        kinds.append(type(sub.get(timeout=5)).__name__)
    assert kinds == [
        "Snapshot",
        "TurnStarted",
        "TextDelta",
        "TextDelta",
        "TurnFinished",
        "StatusChanged",
    ]
    turn = store.get_run(live.id).turns[0]
    assert (turn.input_tokens, turn.output_tokens, turn.finish_reason) == (10, 2, "stop")


def test_an_abandoned_viewer_is_dropped(provider, store, monkeypatch):
    monkeypatch.setattr(viewers_module, "SWEEP_EVERY", 0.0)
    hold = Hold()
    provider.enqueue(["a", hold, "b"])
    live = launch(provider, store)
    assert hold.reached.wait(5)
    gone = live.subscribe(abandon_after=0.0)  # never drained again
    small = live.subscribe(maxsize=1)  # its queue is full with the snapshot
    kept = live.subscribe()
    hold.release()
    while live.subscriber_count > 1:
        assert kept.get(timeout=5) is not None
    assert gone.dropped and small.dropped and not kept.dropped
    live.stop()
    live.join(1)


def test_unsubscribe_releases_the_viewer(provider, store):
    hold = Hold()
    provider.enqueue(["a", hold])
    live = launch(provider, store)
    assert hold.reached.wait(5)
    sub = live.subscribe()
    assert live.subscriber_count == 1
    live.unsubscribe(sub)
    assert live.subscriber_count == 0 and sub.dropped
    live.stop()
    live.join(1)


def test_bot_update_is_published(provider, store):
    hold = Hold()
    provider.enqueue(["a", hold])
    live = launch(provider, store)
    assert hold.reached.wait(5)
    sub = live.subscribe()
    sub.get(timeout=1)
    live.update_bot(1, {"temperature": 0.1})
    event = sub.get(timeout=1)
    assert isinstance(event, BotUpdated) and event.bot_index == 1
    assert event.config.temperature == 0.1
    live.stop()
    live.join(1)


def test_provider_failure_ends_in_error_and_keeps_earlier_turns(provider, store):
    provider.enqueue(
        "Ada fine.",
        ["Bob starts", RateLimited("OpenAI rate limit reached after 2 retries; wait a minute.")],
    )
    live = launch(provider, store)
    wait_status(live, RunStatus.ERROR)
    live.join(1)
    saved = store.get_run(live.id)
    assert saved.status is RunStatus.ERROR and saved.stop_reason == "error"
    assert saved.error == "OpenAI rate limit reached after 2 retries; wait a minute."
    assert [(t.content, t.finish_reason) for t in saved.turns] == [
        ("Ada fine.", "stop"),
        ("Bob starts", "error"),
    ]


def test_a_bug_in_a_provider_ends_the_run_with_a_readable_error(store):
    def broken(bot):
        raise RuntimeError("boom")

    live = start_run(Run(config=make_config()), broken, store)
    wait_status(live, RunStatus.ERROR)
    assert store.get_run(live.id).error == "Internal error: RuntimeError: boom"


def test_stop_phrase_completes_the_run(provider, store):
    provider.enqueue("Let us go on.", "I think we are DONE here.", "never")
    live = launch(provider, store, max_turns=5, stop_phrases=["done here"])
    wait_status(live, RunStatus.COMPLETED)
    saved = store.get_run(live.id)
    assert saved.stop_reason == "stop_phrase" and len(saved.turns) == 2


def test_token_budget_completes_the_run(provider, store):
    provider.enqueue(*[[Text("x"), Usage(60, 1), Finish("stop")]] * 5)
    live = launch(provider, store, max_turns=5, max_total_tokens=100)
    wait_status(live, RunStatus.COMPLETED)
    saved = store.get_run(live.id)
    assert saved.stop_reason == "token_budget" and len(saved.turns) == 2


def test_context_overflow_drops_the_oldest_turns(provider, store):
    long = "word " * 400  # ~500 estimated tokens each
    provider.enqueue(long, long, long, "short")
    run_config = make_config(max_turns=4)
    bots = [
        b.model_copy(update={"context_tokens": 1700, "max_tokens": 200}) for b in run_config.bots
    ]
    run = Run(config=run_config.model_copy(update={"bots": bots}))
    live = start_run(run, lambda b: provider, store)
    wait_status(live, RunStatus.COMPLETED)
    last = provider.calls[3].messages
    assert last[0]["content"] == "Is maths invented?"  # the topic stays
    assert sum(len(m["content"]) for m in last) < 3 * len(long)
    assert [m["role"] for m in last][-1] == "user"


def test_turn_started_carries_the_settings_used(provider, store):
    run = Run(config=make_config(max_turns=1))
    store.create_run(run)
    live = LiveRun(run, lambda b: provider, store)
    sub = live.subscribe()
    live.start()
    sub.get(timeout=1)
    started = sub.get(timeout=5)
    assert isinstance(started, TurnStarted)
    assert started.config == BotConfig(
        name="Ada", system_prompt="You are Ada, a mathematician.", temperature=0.7
    )
    live.join(2)
