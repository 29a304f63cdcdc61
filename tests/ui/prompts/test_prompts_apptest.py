"""The Prompts page and the conversation page's persona picker under AppTest.

AppTest does not apply cell edits itself: a test sets the editor's edit state
(``edited_rows``/``added_rows``/``deleted_rows``) on the session, as the browser would.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from duet_core.models import RunStatus
from duet_core.services import forget_services
from duet_ui.prompts.rows import from_frame, to_frame
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


def editor_key(at: AppTest) -> str:
    return at.data_editor[0].key


def test_rows_round_trip_and_checks():
    assert from_frame(to_frame(V1)) == V1
    frame = to_frame([*V1, {"role": None, "content": None}])  # a blank new row is dropped
    assert from_frame(frame) == V1
    with pytest.raises(Exception, match="Row 2: pick a role"):
        from_frame(to_frame([V1[0], {"role": None, "content": "x"}]))


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
    at.text_input(key="prompts_new_name").set_value("debater")
    at.session_state[editor_key(at)] = {
        "edited_rows": {0: {"content": V1[0]["content"]}},
        "added_rows": [V1[1], V1[2]],
        "deleted_rows": [],
    }
    at.text_input(key="prompts_note").set_value("first")
    at.button(key="prompts_save").click().run()
    no_traceback(at)
    assert [s.value for s in at.success] == ["debater v1 saved"]
    saved = svc.store.prompts.get("debater")
    assert (saved.version, saved.note, saved.author) == (1, "first", "dev")
    assert saved.message_dicts() == V1
    assert at.selectbox(key="prompts_pick").value == "debater"

    # a second version from the editor, then the same again: unchanged
    at.session_state[editor_key(at)] = {
        "edited_rows": {2: {"content": "Example: coffee."}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.text_input(key="prompts_note").set_value("coffee")
    at.button(key="prompts_save").click().run()
    no_traceback(at)
    assert [s.value for s in at.success] == ["debater v2 saved"]
    at.button(key="prompts_save").click().run()
    assert at.success[0].value.startswith("debater v2 unchanged")
    assert [v.version for v in svc.store.prompts.history("debater")] == [2, 1]

    # history and diff
    assert any(e.label.startswith("v2 ·") for e in at.expander)
    diff = at.code[0].value
    assert "-Example: tea, {{ style }}ly." in diff and "+Example: coffee." in diff


def test_bad_rows_and_placeholders_are_refused_with_a_message(svc: Services):
    at = prompts_page()
    at.text_input(key="prompts_new_name").set_value("bad")
    at.session_state[editor_key(at)] = {
        "edited_rows": {0: {"content": "You are {{ 1x }}"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.button(key="prompts_save").click().run()
    no_traceback(at)
    assert "malformed placeholder '{{ 1x }}'" in at.error[0].value
    at.session_state[editor_key(at)] = {
        "edited_rows": {},
        "added_rows": [{"content": "no role"}],
        "deleted_rows": [],
    }
    at.button(key="prompts_save").click().run()
    assert "Row 2: pick a role" in at.error[0].value
    at.text_input(key="prompts_new_name").set_value("has space")
    at.session_state[editor_key(at)] = {"edited_rows": {}, "added_rows": [], "deleted_rows": []}
    at.button(key="prompts_save").click().run()
    assert "Template name" in at.error[0].value
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
