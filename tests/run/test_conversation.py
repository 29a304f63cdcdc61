"""How each bot sees the conversation."""

from duet_core.models import BotConfig, Turn
from duet_core.run.bot_view import CONTINUE_PROMPT, bot_view

ADA = BotConfig(name="Ada", system_prompt="Be Ada.")
BOB = BotConfig(name="Bob", system_prompt="")


def turn(i, bot_index, content, name=None):
    return Turn(index=i, bot_index=bot_index, bot_name=name or "x", content=content)


def test_roles_follow_the_speaker_and_alternate():
    turns = [turn(0, 0, "a0"), turn(1, 1, "b1"), turn(2, None, "person"), turn(3, 0, "a3")]
    system, msgs = bot_view("Topic", turns, 1, BOB)
    assert system == ""
    assert msgs == [
        {"role": "user", "content": "Topic\n\na0"},
        {"role": "assistant", "content": "b1"},
        {"role": "user", "content": "person\n\na3"},
    ]
    system, msgs = bot_view("Topic", turns, 0, ADA)
    assert system == "Be Ada."
    assert [m["role"] for m in msgs] == ["user", "assistant", "user", "assistant", "user"]
    assert msgs[-1]["content"] == CONTINUE_PROMPT  # never end on the bot's own turn


def test_empty_turns_are_skipped():
    turns = [turn(0, 0, "a0"), turn(1, 1, "  "), turn(2, 0, "a2")]
    _, msgs = bot_view("T", turns, 1, BOB)
    assert msgs == [{"role": "user", "content": "T\n\na0\n\na2"}]


def test_oldest_turns_are_dropped_when_the_context_fills():
    bot = BotConfig(name="Ada", max_tokens=100, context_tokens=400)
    turns = [turn(i, i % 2, f"{i} " + "w" * 400) for i in range(6)]
    _, msgs = bot_view("The topic", turns, 0, bot)
    text = "".join(m["content"] for m in msgs)
    assert msgs[0]["content"].startswith("The topic")
    assert "5 w" in text and "0 w" not in text
    assert msgs[0]["role"] == "user" and msgs[-1]["role"] == "user"


def test_the_newest_turn_stays_even_when_it_alone_is_too_long():
    bot = BotConfig(name="Ada", max_tokens=100, context_tokens=300)
    _, msgs = bot_view("T", [turn(0, 1, "x" * 5000)], 0, bot)
    assert msgs == [{"role": "user", "content": "T\n\n" + "x" * 5000}]
