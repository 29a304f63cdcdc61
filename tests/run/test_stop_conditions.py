"""Stop conditions: the wall-clock budget (max_seconds) and loop detection (loop_window),
with the scripted provider and a real (SQLite) store."""

from __future__ import annotations

import pytest

from duet_core.errors import ConfigError
from duet_core.exports.transcript import transcript_dict
from duet_core.models import Run, RunConfig, RunStatus, validated
from duet_core.providers.scripted import Hold
from duet_core.run.engine import LiveRun, start_run
from duet_core.run.stop_conditions import repeats, similarity
from duet_core.vocabulary import FinishReason, StopReason
from tests.run.conftest import make_config, wait_status

LONG = (
    "I still think the city centre would breathe easier without private cars, because buses "
    "trams and bicycles move more people in less space and the air would be cleaner for all"
)


def launch(provider, store, **config_kw) -> LiveRun:
    return start_run(Run(owner="alice", config=make_config(**config_kw)), lambda b: provider, store)


def test_similarity_ignores_case_punctuation_and_spacing():
    assert similarity("I agree, fully!", "i  AGREE fully.") == 1.0
    assert similarity("", "anything") == 0.0


def test_a_long_reply_changed_in_one_word_is_near_identical_but_a_new_one_is_not():
    changed = LONG.replace("cleaner", "fresher")
    assert similarity(LONG, changed) >= 0.8
    assert repeats(changed, ["Something else entirely.", LONG], 0.8)
    other = "Cars carry families and goods; banning them would hurt shops and the elderly most."
    assert similarity(LONG, other) < 0.1
    assert not repeats(other, [LONG], 0.9)


def test_a_short_reply_repeats_only_when_equal():
    assert repeats("Yes, exactly.", ["yes exactly"], 0.9)
    assert not repeats("Yes, exactly so.", ["yes exactly"], 0.9)


def test_the_bots_repeating_themselves_end_the_run_with_reason_loop(provider, store):
    provider.enqueue("Cars pollute.", "Cars move people.", "Trams move more.", "cars POLLUTE!")
    live = launch(provider, store, max_turns=10, loop_window=4)
    assert wait_status(live, RunStatus.COMPLETED) is RunStatus.COMPLETED
    saved = store.get_run(live.id)
    assert saved.stop_reason == StopReason.LOOP.value
    assert [t.content for t in saved.turns][-1] == "cars POLLUTE!"
    assert len(saved.turns) == 4  # it ended on the repeat, not at max_turns
    exported = transcript_dict(saved)  # the JSON export says why, as for any stop reason
    assert exported["run"]["stop_reason"] == "loop"


def test_loop_detection_off_runs_to_the_turn_limit(provider, store):
    provider.enqueue("Cars pollute.", "Cars move people.", "Trams move more.", "cars POLLUTE!")
    live = launch(provider, store, max_turns=4)  # loop_window 0: off by default
    wait_status(live, RunStatus.COMPLETED)
    assert store.get_run(live.id).stop_reason == StopReason.MAX_TURNS.value


def test_a_repeat_older_than_the_window_is_not_a_loop(provider, store):
    provider.enqueue("One.", "Two.", "Three.", "One.")
    live = launch(provider, store, max_turns=4, loop_window=2)
    wait_status(live, RunStatus.COMPLETED)
    assert store.get_run(live.id).stop_reason == StopReason.MAX_TURNS.value


def test_a_persons_interjection_is_not_counted_as_a_bot_repeating(provider, store):
    hold = Hold()
    provider.enqueue(["Cars pollute.", hold], "Noted.", "Fine.")
    live = launch(provider, store, max_turns=3, loop_window=4)
    assert hold.reached.wait(5)
    live.interject("Noted.")  # a person says it, then Bob says the same: no bot repeated
    hold.release()
    wait_status(live, RunStatus.COMPLETED)
    saved = store.get_run(live.id)
    assert saved.stop_reason == StopReason.MAX_TURNS.value


def test_max_seconds_ends_the_run_in_the_middle_of_a_turn(provider, store):
    hold = Hold()  # the provider never sends the rest: only the time limit can end this turn
    provider.enqueue(["Half a", " thought", hold])
    live = launch(provider, store, max_turns=10, max_seconds=0.2)
    assert wait_status(live, RunStatus.COMPLETED, timeout=10) is RunStatus.COMPLETED
    assert live.join(5)
    assert provider.calls[0].stream.closed
    saved = store.get_run(live.id)
    assert saved.stop_reason == StopReason.TIME_BUDGET.value
    assert saved.turns[0].content == "Half a thought"
    assert saved.turns[0].finish_reason == FinishReason.STOPPED
    hold.release()


def test_max_seconds_is_not_spent_while_paused(provider, store):
    hold = Hold()
    provider.enqueue(["first", hold])
    live = launch(provider, store, max_turns=3, max_seconds=60)
    assert hold.reached.wait(5)
    live.pause()
    hold.release()
    assert wait_status(live, RunStatus.PAUSED) is RunStatus.PAUSED
    spent = live._clock.seconds
    assert live._clock.seconds == spent  # the clock holds while paused
    live.resume()
    wait_status(live, RunStatus.COMPLETED)
    assert store.get_run(live.id).stop_reason == StopReason.MAX_TURNS.value


@pytest.mark.parametrize(
    ("field", "value"),
    [("max_seconds", 0), ("max_seconds", -1.0), ("loop_window", -1), ("loop_similarity", 0.2)],
)
def test_bad_stop_settings_are_refused_with_the_fields_name(field, value):
    data = make_config().model_dump() | {field: value}
    with pytest.raises(ConfigError, match=field):
        validated(RunConfig, data)


def test_the_new_settings_round_trip_through_a_setup_file():
    config = make_config(max_seconds=90.0, loop_window=3, loop_similarity=0.8)
    again = RunConfig.from_text(config.dump_json())
    assert (again.max_seconds, again.loop_window, again.loop_similarity) == (90.0, 3, 0.8)
