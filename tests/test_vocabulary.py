"""The vocabulary: one definition each for statuses, reasons, Continue and colours."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from duet_core import models, vocabulary
from duet_core.vocabulary import (
    CONTINUABLE,
    FinishReason,
    RunStatus,
    StopReason,
    bot_colour,
    can_continue,
    describe_stop_reason,
    finish_label,
)


def test_models_reexports_the_one_run_status():
    assert models.RunStatus is vocabulary.RunStatus


def test_every_status_has_a_badge_colour_and_only_running_and_paused_are_live():
    assert {s for s in RunStatus if s.live} == {RunStatus.RUNNING, RunStatus.PAUSED}
    assert all(s.colour for s in RunStatus)


@pytest.mark.parametrize("status", list(RunStatus))
def test_continue_rule(status):
    assert can_continue(status) == (status in CONTINUABLE)
    assert can_continue(status.value, extra_turns=3) == (
        status in CONTINUABLE or status is RunStatus.COMPLETED
    )
    assert not (status.live and can_continue(status, extra_turns=3))


def test_every_stop_reason_has_text_and_unknown_ones_are_shown_as_stored():
    assert all(r.text for r in StopReason)
    assert describe_stop_reason("max_turns") == "the turn limit was reached"
    assert describe_stop_reason("power_cut") == "power_cut"  # (an unknown one, as stored)
    assert describe_stop_reason(None) == "done"


def test_finish_labels_say_nothing_for_a_normal_reply_or_a_person():
    assert finish_label(FinishReason.STOP) is None
    assert finish_label("person") is None
    assert finish_label(None) is None
    assert "length" in finish_label("length")
    assert finish_label("tool_calls") == "tool_calls"  # a provider's own word, as it is


def test_bot_colours_are_distinct_and_a_person_is_gray():
    a, b = bot_colour(0), bot_colour(1)
    assert a != b and a.name == "blue" and b.name == "orange"
    assert bot_colour(None).name == "gray"
    assert a.rgb() == "28, 131, 225"


ROOT = Path(__file__).resolve().parents[1] / "duet_core"
SPELLED = {
    "stop reason": (
        re.compile(r'stop_reason\s*=\s*"(\w+)"|_set_status\([^,()]+,\s*"(\w+)"'),
        {r.value for r in StopReason},
    ),
    "finish reason": (
        re.compile(r'finish_reason\s*=\s*"(\w+)"|Finish\("(\w+)"\)'),
        {r.value for r in FinishReason},
    ),
}


@pytest.mark.parametrize("kind", list(SPELLED))
def test_every_reason_spelled_in_the_core_is_in_the_vocabulary(kind):
    pattern, known = SPELLED[kind]
    found = {
        (path.relative_to(ROOT).as_posix(), value)
        for path in ROOT.rglob("*.py")
        for match in pattern.finditer(path.read_text(encoding="utf-8"))
        for value in match.groups()
        if value
    }
    assert {(where, v) for where, v in found if v not in known} == set()
