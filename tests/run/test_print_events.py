"""cli_terminal.print_events: the conversation as it streams, with the run's progress."""

from __future__ import annotations

import io

from duet_core.cli.terminal import print_events
from duet_core.models import BotConfig, Run, RunConfig, Turn
from duet_core.run.events import (
    Snapshot,
    StatusChanged,
    Subscription,
    TextDelta,
    TurnFinished,
    TurnStarted,
)
from duet_core.vocabulary import RunStatus

ADA, BOB = BotConfig(name="Ada"), BotConfig(name="Bob")


def turn(index: int, bot: int, text: str) -> Turn:
    return Turn(
        index=index,
        bot_index=bot,
        bot_name=("Ada", "Bob")[bot],
        content=text,
        config=(ADA, BOB)[bot],
        input_tokens=10,
        output_tokens=2,
        cost_usd=0.001,
    )


def test_progress_and_totals_while_streaming() -> None:
    run = Run(config=RunConfig(topic="Tea?", max_turns=2, bots=[ADA, BOB]))
    sub = Subscription()
    for event in (
        Snapshot(run=run.model_copy(), partial=None, pending_bots=(ADA, BOB)),
        TurnStarted(0, 0, "Ada", ADA),
        TextDelta(0, "Hello "),
        TextDelta(0, "Bob."),
        TurnFinished(turn(0, 0, "Hello Bob.")),
        TurnStarted(1, 1, "Bob", BOB),
        TextDelta(1, "Hi."),
        TurnFinished(turn(1, 1, "Hi.")),
        StatusChanged(RunStatus.COMPLETED, "max_turns"),
    ):
        sub.offer(event)
    out = io.StringIO()
    assert print_events(sub, out) is RunStatus.COMPLETED
    text = out.getvalue()
    assert "[turn 1 of 2] Ada (duet-demo):\nHello Bob.\n" in text
    assert "[turn 2 of 2] Bob (duet-demo):\nHi.\n" in text
    assert text.endswith("[completed: max_turns]\n2 turns · 24 tokens · $0.0020\n")


def test_a_run_that_already_ended_prints_what_it_said() -> None:
    run = Run(config=RunConfig(topic="Tea?", max_turns=2, bots=[ADA, BOB]))
    run.turns = [turn(0, 0, "Only this.")]
    run.status, run.stop_reason = RunStatus.STOPPED, "user"
    sub = Subscription()
    sub.offer(Snapshot(run=run, partial=None, pending_bots=(ADA, BOB)))
    out = io.StringIO()
    assert print_events(sub, out) is RunStatus.STOPPED
    assert "Ada:\nOnly this.\n" in out.getvalue() and "[stopped: user]" in out.getvalue()


def test_a_turn_already_being_written_is_headed_as_a_new_one() -> None:
    """Subscribing mid-turn (the run's thread started turn 1 first) prints the same header
    as a turn that starts while watching."""
    run = Run(config=RunConfig(topic="Tea?", max_turns=2, bots=[ADA, BOB]))
    partial = turn(0, 0, "Hel")
    sub = Subscription()
    for event in (
        Snapshot(run=run, partial=partial, pending_bots=(ADA, BOB)),
        TextDelta(0, "lo."),
        TurnFinished(turn(0, 0, "Hello.")),
        StatusChanged(RunStatus.STOPPED, "user"),
    ):
        sub.offer(event)
    out = io.StringIO()
    assert print_events(sub, out) is RunStatus.STOPPED
    assert "[turn 1 of 2] Ada (duet-demo):\nHello.\n" in out.getvalue()
