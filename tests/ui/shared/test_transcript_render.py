"""render_turns draws each turn as a chat message with its change notes (AppTest)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _script() -> None:
    from duet_core.models import BotConfig, Turn
    from duet_ui.shared.transcript import render_turns

    ann = BotConfig(name="Ann", temperature=0.7, avatar="science")
    turns = [
        Turn(index=0, bot_index=0, bot_name="Ann", content="**Hello**", thinking="hmm", config=ann),
        Turn(index=1, bot_index=None, bot_name="Moderator", content="Be brief."),
        Turn(
            index=2,
            bot_index=0,
            bot_name="Ann",
            content="<b>raw</b>",
            config=ann.model_copy(update={"temperature": 1.3, "avatar": "/etc/passwd"}),
            finish_reason="stopped",
        ),
    ]
    render_turns(turns)


def test_render_turns():
    at = AppTest.from_function(_script).run()
    assert not at.exception
    messages = at.chat_message
    assert [m.name for m in messages] == ["Ann", "Moderator", "Ann"]
    assert [m.avatar for m in messages] == [
        ":material/science:",
        ":material/person:",
        ":material/smart_toy:",
    ]
    assert "<p><strong>Hello</strong></p>" in messages[0].get("html")[-1].value
    assert "&lt;b&gt;raw&lt;/b&gt;" in messages[2].get("html")[-1].value  # escaped, not bold
    assert at.expander[0].label == "Thinking"
    notes = [c.value for c in at.caption if c.value.startswith(":material/settings:")]
    assert len(notes) == 1 and "0\\.7 → 1\\.3 from turn 3" in notes[0]
    assert messages[2].caption[0].value.endswith("· stopped")
    assert all(not getattr(m, "allow_html", False) for m in at.markdown)
