"""A run's topic as a one-line heading, the whole text as its help (AppTest)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from duet_ui.shared.topic import TOPIC_HEADING, short_topic

LONG = "Is nuclear power green? Weigh the whole life cycle: mining, building, running, " * 3


def _script(topic: str) -> None:
    from duet_ui.shared.topic import topic_heading

    topic_heading(topic, "history")


def test_a_long_topic_is_cut_at_a_word_and_whole_in_the_help() -> None:
    cut = short_topic(LONG)
    assert len(cut) <= TOPIC_HEADING and cut.endswith("…") and LONG.startswith(cut[:-1])
    at = AppTest.from_function(_script, args=(LONG,)).run()
    assert not at.exception
    [heading] = at.subheader
    assert heading.value.endswith("…") and len(heading.value) < len(LONG) / 2
    assert "running, Is nuclear" in heading.proto.help.replace("\\", "")  # the whole text


def test_a_short_topic_is_whole_with_no_help() -> None:
    at = AppTest.from_function(_script, args=("Tea or coffee?",)).run()
    assert [h.value for h in at.subheader] == ["Tea or coffee?"]
    assert not at.subheader[0].proto.help
    assert short_topic("  Tea\n or   coffee? ") == "Tea or coffee?"
