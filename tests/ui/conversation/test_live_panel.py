"""The live panel's drawing in one script run (AppTest): a finished turn takes the place of the
card that streamed it, the window keeps the last ``SHOW_LAST`` turns while the run goes on, and
what must be drawn at once (``Panel.urgent``)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.ui.turn_text import turn_texts


def _panel_script() -> None:
    import streamlit as st

    from duet_core.models import BotConfig, Run, RunConfig, Turn
    from duet_core.run.events import TextDelta, TurnFinished, TurnStarted
    from duet_core.run.state import RunState
    from duet_ui.conversation.draw import SHOW_LAST
    from duet_ui.conversation.panel import Panel
    from duet_ui.conversation.session import LiveView

    bots = [BotConfig(name="Ada"), BotConfig(name="Bob")]
    run = Run(config=RunConfig(topic="Tea?", max_turns=100, bots=bots))
    first = SHOW_LAST - 1  # one short of a full window
    for i in range(first):
        run.turns.append(Turn(index=i, bot_index=i % 2, bot_name=bots[i % 2].name, content=f"t{i}"))
    view = LiveView(RunState.of(run))
    panel = Panel(view, show_all=st.session_state.get("show_all", False))
    panel.run()  # not live: the layout and one draw, as in a full script run
    urgent = st.session_state.setdefault("urgent", [])
    for i in range(first, first + 3):  # three more turns, streamed and finished
        bot = bots[i % 2]
        view.apply([TurnStarted(i, i % 2, bot.name, bot), TextDelta(i, "Hel")])
        urgent.append(("started", panel.urgent()))
        panel.draw()
        urgent.append(("drawn", panel.urgent()))
        view.apply([TextDelta(i, "lo ")])
        urgent.append(("more text", panel.urgent()))
        panel.draw()
        if i == first + 2:
            break  # the last one is still being written
        view.apply(
            [TurnFinished(Turn(index=i, bot_index=i % 2, bot_name=bot.name, content=f"t{i}"))]
        )
        urgent.append(("finished", panel.urgent()))
        panel.draw()


def _texts(at: AppTest) -> list[str]:
    return [
        " ".join([*(m.value for m in message.markdown), *turn_texts(message)])
        for message in at.chat_message
    ]


def test_finished_turns_replace_their_card_and_the_window_stays_at_the_last_turns() -> None:
    from duet_ui.conversation.draw import SHOW_LAST

    at = AppTest.from_function(_panel_script).run()
    assert not at.exception, [e.value for e in at.exception]
    texts = _texts(at)
    last = SHOW_LAST + 1  # the index of the turn being written; 41 turns finished before it
    assert len(texts) == SHOW_LAST + 1  # the last SHOW_LAST finished turns, then the writing one
    assert texts[0].endswith(" t1")  # t0 went when the window moved on
    assert texts[-2].endswith(f" t{last - 1}") and texts[-3].endswith(f" t{last - 2}")
    assert "is writing" in texts[-1] and "Hello" in texts[-1]  # in progress, at the end
    assert sum("is writing" in t for t in texts) == 1  # finished cards are not left writing
    assert at.session_state["urgent"] == [
        ("started", True),
        ("drawn", False),
        ("more text", False),
        ("finished", True),
    ] * 2 + [("started", True), ("drawn", False), ("more text", False)]


def test_show_all_keeps_every_turn() -> None:
    from duet_ui.conversation.draw import SHOW_LAST

    at = AppTest.from_function(_panel_script)
    at.session_state["show_all"] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.chat_message) == SHOW_LAST + 2
