"""RunState: every event kind, the totals kept per event, and snapshots."""

from __future__ import annotations

from datetime import UTC, datetime

from duet_core.models import BotConfig, Run, RunConfig, Turn
from duet_core.run.events import (
    BotUpdated,
    RunError,
    Snapshot,
    StatusChanged,
    TextDelta,
    ThinkingDelta,
    TurnFinished,
    TurnStarted,
)
from duet_core.run.state import RunState
from duet_core.vocabulary import RunStatus

ADA = BotConfig(name="Ada", temperature=0.7)
BOB = BotConfig(name="Bob", temperature=1.0)


def make_run(max_turns: int = 6, first_speaker: int = 0) -> Run:
    config = RunConfig(
        topic="Tea?", max_turns=max_turns, bots=[ADA, BOB], first_speaker=first_speaker
    )
    return Run(config=config)


def bot_turn(index: int, bot: int, *, cost: float | None = 0.5, config: BotConfig | None = None):
    return Turn(
        index=index,
        bot_index=bot,
        bot_name=("Ada", "Bob")[bot],
        content=f"turn {index}",
        config=config or (ADA, BOB)[bot],
        input_tokens=10,
        output_tokens=5,
        cost_usd=cost,
        finish_reason="stop",
    )


def person_turn(index: int) -> Turn:
    return Turn(index=index, bot_index=None, bot_name="Mo", content="hi", finish_reason="person")


def test_a_new_run_starts_empty() -> None:
    state = RunState.of(make_run(first_speaker=1))
    assert (state.tokens, state.bot_turns, state.cost, state.turn_number) == (0, 0, 0.0, 0)
    assert state.next_speaker == 1
    assert state.bots_in_use() == (ADA, BOB) == state.bots_next()
    assert state.partial is None and state.live


def test_turn_started_then_deltas_build_the_partial_turn() -> None:
    state = RunState.of(make_run())
    state.apply(TurnStarted(0, 0, "Ada", ADA))
    state.apply_all([TextDelta(0, "Hel"), ThinkingDelta(0, "hmm"), TextDelta(0, "lo")])
    partial = state.partial_turn()
    assert (partial.index, partial.bot_name, partial.config) == (0, "Ada", ADA)
    assert (partial.content, partial.thinking) == ("Hello", "hmm")
    assert state.turn_number == 1  # turn 1 of N is being written


def test_deltas_of_another_turn_are_ignored() -> None:
    state = RunState.of(make_run())
    state.apply(TextDelta(0, "lost"))  # no turn in progress
    state.apply(TurnStarted(1, 1, "Bob", BOB))
    state.apply(TextDelta(0, "stale"))
    state.apply(ThinkingDelta(0, "stale"))
    assert state.partial_turn().content == "" and state.partial_turn().thinking == ""


def test_turn_finished_adds_the_turn_and_moves_every_total() -> None:
    state = RunState.of(make_run())
    state.apply(TurnStarted(0, 0, "Ada", ADA))
    state.apply(TextDelta(0, "turn 0"))
    hot_ada = ADA.model_copy(update={"temperature": 1.3})
    state.apply(TurnFinished(bot_turn(0, 0, cost=0.25, config=hot_ada)))
    assert state.partial is None and state.text == []
    assert [t.index for t in state.run.turns] == [0]
    assert (state.tokens, state.bot_turns, state.cost) == (15, 1, 0.25)
    assert state.next_speaker == 1
    assert state.bots_in_use() == (hot_ada, BOB)
    state.apply(TurnFinished(bot_turn(1, 1, cost=0.5)))
    assert (state.tokens, state.bot_turns, state.cost, state.turn_number) == (30, 2, 0.75, 2)
    assert state.next_speaker == 0


def test_a_persons_turn_counts_tokens_but_not_as_a_bot_turn() -> None:
    state = RunState.of(make_run())
    state.apply(TurnFinished(bot_turn(0, 0)))
    state.apply(TurnFinished(person_turn(1)))
    assert state.bot_turns == 1 and state.next_speaker == 1 and state.cost == 0.5
    assert len(state.run.turns) == 2


def test_an_unknown_cost_makes_the_total_unknown() -> None:
    state = RunState.of(make_run())
    state.apply(TurnFinished(bot_turn(0, 0, cost=None)))
    state.apply(TurnFinished(bot_turn(1, 1, cost=0.5)))
    assert state.cost is None


def test_totals_match_the_runs_own_sums() -> None:
    run = make_run(max_turns=50)
    state = RunState.of(run)
    for i in range(30):
        state.apply(TurnFinished(person_turn(i) if i % 7 == 3 else bot_turn(i, i % 2, cost=0.1)))
    assert state.tokens == state.run.total_tokens
    assert state.cost == state.run.total_cost_usd
    assert state.bot_turns == len(state.run.bot_turns)
    assert state.bots_in_use() == state.run.bots_in_use()


def test_bot_updated_changes_only_the_pending_settings() -> None:
    state = RunState.of(make_run())
    cool_bob = BOB.model_copy(update={"temperature": 0.2})
    state.apply(BotUpdated(1, cool_bob))
    assert state.bots_next() == (ADA, cool_bob)
    assert state.bots_in_use() == (ADA, BOB)  # Bob has not spoken with it yet


def test_status_changes_and_the_end_of_a_run() -> None:
    state = RunState.of(make_run())
    state.apply(StatusChanged(RunStatus.PAUSED))
    assert state.status is RunStatus.PAUSED and state.live
    state.apply(TurnStarted(0, 0, "Ada", ADA))
    end = datetime(2026, 1, 2, tzinfo=UTC)
    state.apply(StatusChanged(RunStatus.ERROR, "error", "boom", finished_at=end))
    assert (state.status, state.run.stop_reason, state.run.error) == (
        RunStatus.ERROR,
        "error",
        "boom",
    )
    assert state.run.finished_at == end and not state.live
    assert state.partial is None  # an ended run has no turn in progress
    state.apply(StatusChanged(RunStatus.RUNNING))  # continued
    assert state.run.finished_at is None and state.run.error is None


def test_an_ended_run_without_a_time_gets_one() -> None:
    state = RunState.of(make_run())
    state.apply(StatusChanged(RunStatus.COMPLETED, "max_turns"))
    assert state.run.finished_at is not None


def test_run_error_sets_the_message() -> None:
    state = RunState.of(make_run())
    state.apply(RunError("the provider said no"))
    assert state.run.error == "the provider said no"


def test_a_snapshot_replaces_everything_and_bumps_the_generation() -> None:
    state = RunState.of(make_run())
    state.apply(TurnFinished(bot_turn(0, 0)))
    other = make_run()
    other.turns = [bot_turn(0, 0), person_turn(1), bot_turn(2, 1, cost=1.0)]
    partial = Turn(
        index=3, bot_index=0, bot_name="Ada", content="so far", thinking="th", config=ADA
    )
    pending = (ADA, BOB.model_copy(update={"temperature": 0.1}))
    before = state.generation
    state.apply(Snapshot(run=other, partial=partial, pending_bots=pending))
    assert state.generation == before + 1
    assert state.run is other and len(state.run.turns) == 3
    assert (state.tokens, state.bot_turns, state.cost, state.next_speaker) == (30, 2, 1.5, 0)
    assert state.partial_turn().content == "so far" and state.partial_turn().thinking == "th"
    assert state.bots_next() == pending
    state.apply(TextDelta(3, " and more"))
    assert state.partial_turn().content == "so far and more"


def test_snapshot_round_trip_is_a_copy() -> None:
    state = RunState.of(make_run())
    state.apply(TurnFinished(bot_turn(0, 0)))
    state.apply(TurnStarted(1, 1, "Bob", BOB))
    state.apply(TextDelta(1, "half"))
    snap = state.snapshot()
    viewer = RunState.of(make_run())
    viewer.apply(snap)
    state.apply(TurnFinished(bot_turn(1, 1)))
    assert len(snap.run.turns) == 1  # the engine's later turns do not leak into the copy
    assert viewer.partial_turn().content == "half" and viewer.bot_turns == 1


def test_turn_number_is_capped_at_the_limit() -> None:
    state = RunState.of(make_run(max_turns=1))
    state.apply(TurnFinished(bot_turn(0, 0)))
    state.apply(TurnStarted(1, 1, "Bob", BOB))
    assert state.turn_number == 1


def test_a_snapshot_of_a_turn_without_thinking_has_no_thinking() -> None:
    """A viewer that joins mid-turn (a reload, the live panel after Start) must not draw an
    empty Thinking box for a model that does not think."""
    state = RunState.of(make_run())
    partial = Turn(index=0, bot_index=0, bot_name="Ada", content="", config=ADA)
    state.apply(Snapshot(run=make_run(), partial=partial, pending_bots=(ADA, BOB)))
    assert state.thinking == [] and state.text == []
    assert not any(state.thinking)
    state.apply(TextDelta(0, "Hi"))
    assert state.text == ["Hi"] and state.thinking == []
