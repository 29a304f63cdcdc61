"""The Prompts page and the conversation page's persona picker under AppTest.

A template opens with a click on its row (a test sets the table's selection in the session,
as the browser would); its messages are edited in one text area each.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from duet_core.models import RunStatus
from duet_core.services import forget_services
from duet_core.store.schema import Base
from duet_ui.prompts import draft, table
from duet_ui.shared.prompt_picker import persona_fields, widget_values
from duet_ui.shell.services import Services, services

APP = str(Path(__file__).resolve().parents[3] / "app.py")
TIMEOUT = 30
PAGE = "app_pages/prompts.py"
V1 = [
    {"role": "system", "content": "You are {{ my_name }}, a {{ style }} debater."},
    {"role": "human", "content": "Example: tea?"},
    {"role": "ai", "content": "Example: tea, {{ style }}ly."},
]


@pytest.fixture
def svc(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[Services]:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DUET_DEV_MODE", "1")
    monkeypatch.setenv("DUET_DATABASE_URL", f"sqlite:///{tmp_path / 'duet.db'}")
    monkeypatch.setenv("DUET_DEMO_TOKENS_PER_SECOND", "0")
    monkeypatch.setenv("DUET_LOG_LEVEL", "WARNING")
    forget_services()
    s = services()
    yield s
    s.manager.stop_all()
    s.store.close()
    forget_services()


def prompts_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page(PAGE).run()
    no_traceback(at)
    return at


def no_traceback(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def click_cell(at: AppTest, row: int) -> AppTest:
    """A click on a cell of ``row``'s template name, as the browser reports it."""
    selection = at.session_state[table.TABLE_KEY]["selection"]
    at.session_state[table.TABLE_KEY] = {"selection": {**selection, "cells": [[row, "template"]]}}
    return at.run()


def write(at: AppTest, i: int, content: str, role: str | None = None) -> None:
    """Type into message ``i``'s text area (and pick its role)."""
    if role is not None:
        at.selectbox(key=draft.role_key(i)).set_value(role)
    at.text_area(key=draft.content_key(i)).input(content)


def row_counts(svc: Services) -> dict[str, int]:
    with svc.store.engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in Base.metadata.sorted_tables
        }


def test_the_draft_adds_removes_and_reads_messages():
    state: dict = {}
    draft.start(state, ("debater", 1), V1)
    assert draft.messages(state) == V1
    draft.add(state)  # after an ai message: a human one
    assert draft.messages(state)[-1] == {"role": "human", "content": ""}
    draft.remove(state, 1)
    assert [m["content"] for m in draft.messages(state)] == [V1[0]["content"], V1[2]["content"], ""]
    state[draft.content_key(0)] = "edited"
    draft.start(state, ("debater", 1), V1)  # the same version: the edit stays
    assert draft.messages(state)[0]["content"] == "edited"
    draft.start(state, ("debater", 2), V1[:1])  # another version: started again
    assert draft.messages(state) == V1[:1] and draft.role_key(1) not in state
    draft.remove(state, 0)
    with pytest.raises(Exception, match="Add at least one message"):
        draft.messages(state)


def test_a_click_on_a_row_picks_the_template():
    names = ["alpha", "beta"]
    assert table.follow_click([], [1], names, "alpha") == "beta"  # a cell of beta's row
    assert table.follow_click([0], [1], names, "alpha") == "beta"  # alpha's row stays ticked
    assert table.follow_click([1], [], names, "alpha") == "beta"  # beta's row ticked
    assert table.follow_click([], [], names, "alpha") == "alpha"  # the open row unticked
    assert table.settle("gone", names) == "alpha"
    assert table.settle(table.NEW, names) == table.NEW
    assert table.settle(None, []) == table.NEW
    assert table.wanted_rows("beta", names) == [1] and table.wanted_rows(table.NEW, names) == []


def test_picker_values_round_trip():
    from duet_core.models import BotConfig

    bot = BotConfig(prompt={"name": "debater", "version": 2, "variables": {"style": "calm"}})
    values = widget_values(bot)
    assert values["persona_source"] == "template" and values["var_style"] == "calm"
    assert persona_fields(values)["prompt"] == {
        "name": "debater",
        "version": 2,
        "variables": {"style": "calm"},
    }
    plain = widget_values(BotConfig(system_prompt="Hi"))
    assert persona_fields({**plain, "system_prompt": "Hi"})["system_prompt"] == "Hi"
    inline = widget_values(BotConfig(persona=[{"role": "system", "content": "x"}]))
    assert persona_fields(inline)["persona"] == [{"role": "system", "content": "x"}]


def test_save_a_new_template_then_a_version_then_unchanged(svc: Services):
    at = prompts_page()
    name_box = at.text_input(key="prompts_new_name")
    assert name_box.placeholder == "a short name: letters, digits, . _ -"
    name_box.set_value("debater")
    write(at, 0, V1[0]["content"])
    at.button(key="prompts_add").click().run()
    write(at, 1, V1[1]["content"], role="human")
    at.button(key="prompts_add").click().run()
    assert at.selectbox(key=draft.role_key(2)).value == "ai"  # after a human message
    write(at, 2, V1[2]["content"])
    at.text_input(key="prompts_note").set_value("first")
    at.button(key="prompts_save").click().run()
    no_traceback(at)
    assert [s.value for s in at.success] == ["debater v1 saved"]
    saved = svc.store.prompts.get("debater")
    assert (saved.version, saved.note, saved.author) == (1, "first", "dev")
    assert saved.message_dicts() == V1
    assert at.session_state[table.PICK_KEY] == "debater"
    assert at.session_state[table.TABLE_KEY]["selection"]["rows"] == [0]  # its row shows it

    # a second version from the editor (a long message, kept whole), then the same again
    long = "Example: coffee. " * 40
    write(at, 2, long)
    at.text_input(key="prompts_note").set_value("coffee")
    at.button(key="prompts_save").click().run()
    no_traceback(at)
    assert [s.value for s in at.success] == ["debater v2 saved"]
    assert svc.store.prompts.get("debater").messages[2].content == long
    at.button(key="prompts_save").click().run()
    assert at.success[0].value.startswith("debater v2 unchanged")
    assert [v.version for v in svc.store.prompts.history("debater")] == [2, 1]

    # history and diff
    assert any(e.label.startswith("v2 ·") for e in at.expander)
    diff = at.code[0].value
    assert "-Example: tea, {{ style }}ly." in diff and "+Example: coffee." in diff


def test_a_click_on_a_template_row_opens_it(svc: Services):
    svc.store.prompts.save("alpha", [{"role": "system", "content": "I am alpha."}])
    svc.store.prompts.save("beta", [{"role": "system", "content": "I am beta."}])
    at = prompts_page()
    assert at.session_state[table.PICK_KEY] == "alpha"
    assert at.text_area(key=draft.content_key(0)).value == "I am alpha."
    click_cell(at, 1)
    no_traceback(at)
    assert at.session_state[table.PICK_KEY] == "beta"
    assert at.subheader[0].value == "beta"
    assert at.text_area(key=draft.content_key(0)).value == "I am beta."
    at.button(key="prompts_new").click().run()  # New template: no row selected
    assert at.session_state[table.PICK_KEY] == table.NEW
    assert at.session_state[table.TABLE_KEY]["selection"]["rows"] == []
    assert at.text_input(key="prompts_new_name").value == ""
    at.run()  # stays new (the old selection does not come back)
    assert at.session_state[table.PICK_KEY] == table.NEW
    click_cell(at, 0)
    assert at.session_state[table.TABLE_KEY]["selection"] == {
        "rows": [0],
        "columns": [],
        "cells": [],
    }  # the click is taken: the row shows it
    assert at.text_area(key=draft.content_key(0)).value == "I am alpha."


def test_bad_messages_and_names_are_refused_with_a_message(svc: Services):
    at = prompts_page()
    at.button(key="prompts_save").click().run()  # no name
    no_traceback(at)
    assert [e.value for e in at.error] == ["Give the template a name."]
    at.text_input(key="prompts_new_name").set_value("bad")
    write(at, 0, "You are {{ 1x }}")
    at.button(key="prompts_save").click().run()
    assert "malformed placeholder '{{ 1x }}'" in at.error[0].value
    at.button(key=draft.remove_key(0)).click().run()
    at.button(key="prompts_save").click().run()
    assert [e.value for e in at.error] == ["Add at least one message."]
    at.button(key="prompts_add").click().run()
    write(at, 0, "fine")
    at.text_input(key="prompts_new_name").set_value("has space")
    at.button(key="prompts_save").click().run()
    assert "Template name 'has space' is not allowed" in at.error[0].value
    assert svc.store.prompts.list() == []


def test_try_it_renders_and_names_missing_variables(svc: Services):
    svc.store.prompts.save("debater", V1)
    at = prompts_page()
    at.text_input(key="prompts_try_style").set_value("calm").run()
    no_traceback(at)
    assert any("No value for my_name" in w.value for w in at.warning)
    texts = [t.value for t in at.text]
    assert "[system]\nYou are , a calm debater." in texts
    assert "[ai]\nExample: tea, calmly." in texts


def test_try_it_sends_the_messages_to_a_model_and_writes_nothing(svc: Services):
    svc.store.prompts.save("debater", V1)
    at = prompts_page()
    before = row_counts(svc)
    at.text_input(key="prompts_try_my_name").set_value("Ada")
    at.text_input(key="prompts_try_style").set_value("calm")
    assert at.selectbox(key="prompts_try_provider").value == "demo"
    at.button(key="prompts_try_send").click().run()
    no_traceback(at)
    assert not at.error
    reply = at.chat_message[0].markdown[0].value
    assert len(reply) > 10  # the demo model's answer, streamed onto the page
    assert any("debater v1 · demo duet-demo" in c.value for c in at.caption)
    assert any("tokens" in c.value for c in at.caption)
    assert row_counts(svc) == before  # nothing saved: no run, no turn, no version
    at.run()  # the reply stays until something else is tried
    assert at.chat_message[0].markdown[0].value == reply


def test_try_it_sends_the_unsaved_draft_and_says_a_problem_once(svc: Services):
    at = prompts_page()  # a new template: only the draft to try
    assert at.selectbox(key="prompts_try_version").value == "draft"
    at.button(key="prompts_try_send").click().run()
    no_traceback(at)
    # the draft has only a system message: the playground's own check says so, once
    assert [e.value for e in at.error] == [
        "Give the bot a human message to answer (only system messages given)."
    ]
    at.button(key="prompts_add").click().run()
    write(at, 1, "Tea or coffee?")
    at.button(key="prompts_try_send").click().run()
    no_traceback(at)
    assert not at.error and at.chat_message[0].markdown[0].value
    assert svc.store.prompts.list() == []


def test_try_it_without_a_key_says_so(svc: Services):
    svc.store.prompts.save("asker", [{"role": "human", "content": "Hello?"}])
    at = prompts_page()
    at.selectbox(key="prompts_try_provider").set_value("openai").run()
    no_traceback(at)
    assert at.text_input(key="prompts_try_model").value == "gpt-4.1-mini"  # its default
    assert at.button(key="prompts_try_send").disabled
    assert any("OPENAI_API_KEY" in w.value for w in at.warning)


def test_try_it_says_a_model_error_as_one_message(svc: Services, monkeypatch: pytest.MonkeyPatch):
    import socket

    held = socket.socket()  # a local port bound but not listening: the call is refused
    held.bind(("127.0.0.1", 0))
    port = held.getsockname()[1]
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("DUET_MAX_RETRIES", "0")
    forget_services()
    fresh = services()
    fresh.store.prompts.save("asker", [{"role": "human", "content": "Hello?"}])
    at = prompts_page()
    at.selectbox(key="prompts_try_provider").set_value("openai").run()
    at.button(key="prompts_try_send").click().run()
    no_traceback(at)
    held.close()
    assert len(at.error) == 1, [e.value for e in at.error]
    assert "connect" in at.error[0].value.lower()
    assert not at.chat_message  # no empty reply: the one message says it
    at.run()
    assert len(at.error) == 1 and not at.chat_message  # and again, until tried again
    fresh.store.close()


def test_a_bot_uses_a_saved_template_on_the_conversation_page(svc: Services):
    svc.store.prompts.save("debater", V1, note="one")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.button_group(key="bot0_persona_source").set_value("template").run()
    no_traceback(at)
    at.selectbox(key="bot0_prompt_name").set_value("debater").run()
    at.text_input(key="bot0_var_style").set_value("calm").run()
    no_traceback(at)
    assert at.selectbox(key="bot0_prompt_version").value == "latest"
    at.number_input(key="max_turns").set_value(2)
    at.button(key="start").click().run()
    no_traceback(at)
    live = svc.manager.get(at.query_params["run"])
    assert live is not None and live.join(timeout=20)
    run = svc.store.get_run(live.id)
    assert run.status is RunStatus.COMPLETED
    ada = run.turns[0]
    assert (ada.prompt.name, ada.prompt.version, ada.prompt.variables) == (
        "debater",
        1,
        {"style": "calm"},
    )
    assert ada.request_messages[0]["content"] == "You are Ada, a calm debater."
    at.run()
    no_traceback(at)
    captions = [c.value.replace("\\", "") for c in at.caption]
    assert any("template debater v1" in c for c in captions)


@pytest.mark.parametrize(
    "persona",
    [
        {"system_prompt": "Be brief."},
        {"prompt": {"name": "debater", "version": 3, "variables": {"style": "calm"}}},
        {"prompt": {"name": "debater", "variables": {}}},
        {"persona": [{"role": "system", "content": "Hi {{ my_name }}"}]},
    ],
)
def test_the_bot_form_round_trips_every_persona_source(persona):
    from duet_core.models import BotConfig
    from duet_ui.shared.bot_form import DEFAULT_BOTS, config_from_values
    from duet_ui.shared.bot_form import widget_values as form_values

    bot = BotConfig(name="Ada", temperature=0.5, **persona)
    assert config_from_values(form_values(bot), DEFAULT_BOTS[0]) == bot


def test_a_live_bot_switches_template_version_mid_run(
    svc: Services, monkeypatch: pytest.MonkeyPatch
):
    from duet_core.run.events import Snapshot, TurnStarted

    svc.store.prompts.save("debater", V1)
    svc.store.prompts.save(
        "debater", [{"role": "system", "content": "Version two, {{ my_name }}."}]
    )
    monkeypatch.setenv("DUET_DEMO_TOKENS_PER_SECOND", "40")  # a turn takes about a second
    forget_services()
    svc = services()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.button_group(key="bot0_persona_source").set_value("template").run()
    at.selectbox(key="bot0_prompt_name").set_value("debater").run()
    at.selectbox(key="bot0_prompt_version").set_value(1).run()
    at.number_input(key="max_turns").set_value(3)
    at.button(key="start").click().run()
    no_traceback(at)
    live = svc.manager.get(at.query_params["run"])
    sub = live.subscribe()
    while True:  # wait until Ada's first turn has taken its settings
        event = sub.get(timeout=10)
        assert event is not None, "the run did not start"
        if isinstance(event, TurnStarted) or (isinstance(event, Snapshot) and event.partial):
            break
    at.selectbox(key="bot0_prompt_version").set_value(2).run()
    no_traceback(at)
    assert live.bots()[0].prompt.version == 2
    assert live.join(timeout=30)
    turns = svc.store.get_run(live.id).turns
    assert [(t.bot_name, t.prompt.version if t.prompt else None) for t in turns] == [
        ("Ada", 1),
        ("Bob", None),
        ("Ada", 2),
    ]
    assert turns[2].request_messages[0] == {"role": "system", "content": "Version two, Ada."}
    svc.manager.stop_all()
    svc.store.close()
