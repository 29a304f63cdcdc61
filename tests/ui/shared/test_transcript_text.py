"""turn_caption and change_notes: pure functions, no Streamlit session needed."""

from __future__ import annotations

from duet_core.models import BotConfig, Turn
from duet_ui.shared.transcript import bot_colour, change_notes, format_cost, turn_caption


def bot_turn(index: int, bot_index: int = 0, **config) -> Turn:
    name = config.pop("name", "Bob" if bot_index else "Ann")
    cfg = BotConfig(name=name, provider="demo", model="duet-demo", **config)
    return Turn(
        index=index,
        bot_index=bot_index,
        bot_name=name,
        content="hi",
        config=cfg,
        input_tokens=12,
        output_tokens=34,
        ttft_ms=120.4,
        latency_ms=1534,
        cost_usd=0.0012,
        finish_reason="stop",
    )


def test_caption_lists_model_knob_tokens_timing_cost():
    caption = turn_caption(bot_turn(0, temperature=0.7))
    assert caption == (
        "duet-demo · temperature 0.7 · tokens 12 in / 34 out · TTFT 120 ms · latency 1.5 s"
        " · $0.0012"
    )


def test_caption_cost_unknown_and_finish_reason():
    turn = bot_turn(0).model_copy(update={"cost_usd": None, "finish_reason": "stopped"})
    caption = turn_caption(turn)
    assert "cost unknown" in caption
    assert caption.endswith("cost unknown · stopped")  # the words, not the core's ⏹ symbol
    assert "length" in turn_caption(turn.model_copy(update={"finish_reason": "length"}))
    assert "error" in turn_caption(turn.model_copy(update={"finish_reason": "error"}))


def test_caption_without_temperature_has_no_knob_and_short_latency_in_ms():
    turn = bot_turn(0).model_copy(update={"latency_ms": 850.0, "input_tokens": None})
    caption = turn_caption(turn)
    assert "temperature" not in caption
    assert "latency 850 ms" in caption
    assert "tokens ? in / 34 out" in caption


def test_caption_of_a_person_is_empty():
    turn = Turn(index=3, bot_index=None, bot_name="Moderator", content="Be brief.")
    assert turn_caption(turn) == ""


def test_format_cost():
    assert format_cost(None) == "cost unknown"
    assert format_cost(0.0) == "$0"
    assert format_cost(1.5) == "$1.50"


def test_bot_colours_differ():
    assert bot_colour(0) != bot_colour(1)
    assert bot_colour(None) not in (bot_colour(0), bot_colour(1))


def test_change_notes_per_bot_from_its_previous_turn():
    turns = [
        bot_turn(0, 0, temperature=0.7),
        bot_turn(1, 1, temperature=0.7),
        bot_turn(2, 0, temperature=0.7),
        Turn(index=3, bot_index=None, bot_name="Moderator", content="x"),
        bot_turn(4, 1, temperature=1.3),  # Bob changes
        bot_turn(5, 0, temperature=0.7, system_prompt="Be terse and " * 10),
    ]
    notes = change_notes(turns)
    assert notes == {
        4: ["Bob: temperature 0.7 → 1.3 from turn 5"],
        5: ["Ann: system prompt changed from turn 6"],
    }


def test_change_notes_none_shows_default_and_first_turns_have_none():
    turns = [bot_turn(0, 0), bot_turn(1, 0, temperature=0.2, max_tokens=100)]
    assert change_notes(turns) == {
        1: [
            "Ann: temperature default → 0.2 from turn 2",
            "Ann: max tokens 512 → 100 from turn 2",
        ]
    }
    assert change_notes(turns[:1]) == {}
