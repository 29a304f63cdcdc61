"""The conversation page under AppTest: start a demo run, change a bot mid-run, errors.

AppTest never fires ``run_every``, so these tests follow the run through the manager and the
store (joining the run's thread) and rerun the page to see the outcome.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from duet_core.models import BotConfig, RunConfig, RunStatus
from duet_core.run.events import Snapshot, TurnStarted
from duet_core.services import forget_services
from duet_ui.shell.services import Services, services

APP = str(Path(__file__).resolve().parents[3] / "app.py")
TIMEOUT = 30  # seconds for one script run; generous for a loaded CI machine


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> pytest.MonkeyPatch:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DUET_DEV_MODE", "1")
    monkeypatch.setenv("DUET_DATABASE_URL", f"sqlite:///{tmp_path / 'duet.db'}")
    monkeypatch.setenv("DUET_DEMO_TOKENS_PER_SECOND", "0")
    monkeypatch.setenv("DUET_LOG_LEVEL", "WARNING")
    return monkeypatch


@pytest.fixture
def svc(env: pytest.MonkeyPatch) -> Iterator[Services]:
    """This test's services (settings from ``env``); every run stopped afterwards."""
    forget_services()
    s = services()
    yield s
    s.manager.stop_all()
    s.store.close()
    forget_services()


def services_with(env: pytest.MonkeyPatch, **settings: str) -> Services:
    """This test's services again, after setting ``DUET_<NAME>`` for each of ``settings``
    (the ``svc`` fixture's are built before a test can change the environment)."""
    for name, value in settings.items():
        env.setenv(f"DUET_{name.upper()}", value)
    forget_services()
    return services()


def app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=TIMEOUT).run()


def no_traceback(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_start_runs_a_demo_conversation_to_the_end(svc: Services) -> None:
    at = app()
    no_traceback(at)
    assert at.text_input(key="bot0_name").value == "Ada"
    assert at.text_input(key="bot1_name").value == "Bob"

    at.button(key="start").click().run()
    no_traceback(at)
    run_id = at.query_params["run"]
    live = svc.manager.get(run_id)
    assert live is not None and live.join(timeout=20)

    saved = svc.store.get_run(run_id)
    assert saved.status is RunStatus.COMPLETED
    assert [t.bot_name for t in saved.turns] == ["Ada", "Bob"] * 3
    assert saved.owner == "dev"

    at.run()
    no_traceback(at)
    assert any("turn limit" in s.value for s in at.success)
    assert at.button(key="start").disabled is False
    assert at.download_button(key="run_download_json") is not None


def test_settings_changed_mid_run_apply_from_the_bots_next_turn(
    svc: Services, env: pytest.MonkeyPatch
) -> None:
    svc = services_with(env, demo_tokens_per_second="40")  # a turn takes about a second
    at = app()
    at.number_input(key="max_turns").set_value(3)
    at.button(key="start").click().run()
    live = svc.manager.get(at.query_params["run"])
    sub = live.subscribe()
    while True:  # wait until Ada's first turn has taken its settings
        event = sub.get(timeout=10)
        assert event is not None, "the run did not start"
        if isinstance(event, TurnStarted) or (isinstance(event, Snapshot) and event.partial):
            break

    at.slider(key="bot0_temperature").set_value(1.3).run()
    no_traceback(at)
    assert live.bots()[0].temperature == 1.3
    assert any("Changes apply from Ada's next turn." in i.value for i in at.info)
    assert at.button(key="start").disabled  # one run at a time on this page

    assert live.join(timeout=20)
    turns = svc.store.get_run(live.id).turns
    assert [(t.bot_name, t.config.temperature) for t in turns] == [
        ("Ada", 0.7),
        ("Bob", 1.0),
        ("Ada", 1.3),
    ]
    at.run()
    no_traceback(at)
    notes = [c.value.replace("\\", "") for c in at.caption]  # captions escape markdown
    assert any("Ada: temperature 0.7 → 1.3 from turn 3" in n for n in notes)


def test_a_bad_value_shows_an_error_and_starts_nothing(svc: Services) -> None:
    at = app()
    at.selectbox(key="bot1_provider").set_value("anthropic").run()
    no_traceback(at)
    assert at.slider(key="bot1_temperature").disabled
    assert any("does not accept temperature" in c.value for c in at.caption)
    at.number_input(key="bot1_thinking_budget").set_value(500).run()
    no_traceback(at)
    assert any("thinking budget must be at least 1024" in e.value for e in at.error)

    at.button(key="start").click().run()
    no_traceback(at)
    assert any("Fix the bot settings" in e.value for e in at.error)
    assert "run" not in at.query_params
    assert svc.manager.active() == []


def test_missing_key_shows_how_to_enable_the_provider(svc: Services) -> None:
    at = app()
    at.selectbox(key="bot0_provider").set_value("openai").run()
    no_traceback(at)
    assert any("OPENAI_API_KEY" in w.value for w in at.warning)
    key_field = at.text_input(key="apikey_openai")
    assert key_field.proto.type == key_field.proto.PASSWORD


def test_run_limit_is_an_error_not_a_traceback(svc: Services, env: pytest.MonkeyPatch) -> None:
    svc = services_with(env, max_active_runs="1", demo_tokens_per_second="2")
    first = app()
    first.button(key="start").click().run()
    assert svc.manager.active()

    second = app()  # another browser session
    second.button(key="start").click().run()
    no_traceback(second)
    assert any("runs are already going" in e.value for e in second.error)

    first.button(key="stop").click().run()
    no_traceback(first)
    assert svc.manager.get(first.query_params["run"]).join(timeout=10)


def test_setup_file_round_trip_and_bad_file(svc: Services) -> None:
    at = app()
    config = RunConfig(
        topic="Tea or coffee?",
        max_turns=4,
        first_speaker=1,
        bots=[
            BotConfig(name="Cleo", avatar="🐱", temperature=0.2),
            BotConfig(name="Dan", avatar="🐶", provider="anthropic", model="claude-haiku-5-5"),
        ],
    )
    at.file_uploader(key="load_setup").set_value(
        ("bad.json", b"{not json", "application/json")
    ).run()
    no_traceback(at)
    assert any("Could not load bad.json" in e.value for e in at.error)
    assert at.text_input(key="bot0_name").value == "Ada"  # nothing lost

    at.file_uploader(key="load_setup").set_value(
        ("setup.json", config.dump_json().encode(), "application/json")
    ).run()
    no_traceback(at)
    assert at.text_area(key="topic").value == "Tea or coffee?"
    assert at.text_input(key="bot0_name").value == "Cleo"
    assert at.slider(key="bot0_temperature").value == 0.2
    assert at.selectbox(key="bot1_model").value == "claude-haiku-5-5"
    assert at.selectbox(key="first_speaker").value == 1
    assert not at.download_button(key="save_setup").disabled


def test_reopening_a_run_by_url_shows_it(svc: Services) -> None:
    at = app()
    at.text_area(key="topic").set_value("Cats or dogs?").run()
    at.button(key="start").click().run()
    run_id = at.query_params["run"]
    assert svc.manager.get(run_id).join(timeout=20)

    other = AppTest.from_file(APP, default_timeout=TIMEOUT)
    other.query_params["run"] = run_id
    other.run()
    no_traceback(other)
    assert other.text_area(key="topic").value == "Cats or dogs?"
    assert any("turn limit" in s.value for s in other.success)

    missing = AppTest.from_file(APP, default_timeout=TIMEOUT)
    missing.query_params["run"] = "nosuchrun"
    missing.run()
    no_traceback(missing)
    assert any("There is no run nosuchrun" in e.value for e in missing.error)


def test_stop_then_continue_the_run(svc: Services, env: pytest.MonkeyPatch) -> None:
    svc = services_with(env, demo_tokens_per_second="5")
    at = app()
    at.button(key="start").click().run()
    run_id = at.query_params["run"]
    at.button(key="stop").click().run()
    assert svc.manager.get(run_id).join(timeout=10)
    at.run()
    no_traceback(at)
    assert any("Stopped" in i.value for i in at.info)

    at.button(key="continue").click().run()
    no_traceback(at)
    live = svc.manager.get(run_id)
    assert live.status.live and at.query_params["run"] == run_id
    assert at.button(key="stop") is not None
    live.stop()
    assert live.join(timeout=10)


def test_a_long_transcript_shows_its_last_turns(svc: Services) -> None:
    from duet_core.models import Run, Turn
    from duet_ui.conversation.draw import SHOW_LAST

    bots = [BotConfig(name="Ada"), BotConfig(name="Bob")]
    run = Run(owner="dev", config=RunConfig(topic="Long", max_turns=100, bots=bots))
    svc.store.create_run(run)
    for i in range(SHOW_LAST + 5):
        turn = Turn(index=i, bot_index=i % 2, bot_name=bots[i % 2].name, content=f"turn {i}")
        svc.store.save_turn(run.id, turn)
    svc.store.set_status(run.id, RunStatus.STOPPED, "user")

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["run"] = run.id
    at.run()
    no_traceback(at)
    assert len(at.chat_message) == SHOW_LAST
    at.toggle(key="show_all_turns").set_value(True).run()
    assert len(at.chat_message) == SHOW_LAST + 5


def test_interjection_joins_the_conversation(svc: Services, env: pytest.MonkeyPatch) -> None:
    svc = services_with(env, demo_tokens_per_second="20")
    at = app()
    at.number_input(key="max_turns").set_value(2)
    at.button(key="start").click().run()
    live = svc.manager.get(at.query_params["run"])
    at.chat_input(key="interject").set_value("Please keep it short.").run()
    no_traceback(at)
    assert live.join(timeout=20)
    turns = svc.store.get_run(live.id).turns
    people = [t for t in turns if t.by_person]
    assert [(t.bot_name, t.content) for t in people] == [("Developer", "Please keep it short.")]
    assert len([t for t in turns if not t.by_person]) == 2


def test_start_draws_the_new_run_in_the_same_script_run(svc: Services) -> None:
    """The click's own run draws the page as running (no second run of the page): a topic
    typed just before Start (sent with the click) is the run's topic, the controls and the
    panel show at once."""
    at = app()
    at.text_area(key="topic").set_value("Is tea better than coffee?")
    at.button(key="start").click().run()
    no_traceback(at)
    live = svc.manager.get(at.query_params["run"])
    assert live is not None and live.snapshot().run.config.topic == "Is tea better than coffee?"
    assert at.button(key="start").disabled
    assert at.button(key="stop") is not None
    assert any("Is tea better than coffee?" in s.value for s in at.subheader)

    at.run()
    no_traceback(at)
    assert svc.store.list_runs().total == 1  # the click started one run


def test_a_second_start_while_live_starts_nothing(svc: Services, env: pytest.MonkeyPatch) -> None:
    """Start is disabled while a run is live; a click that arrives anyway (a stale page, a
    double click sent before the page redrew) must not start a second run."""
    svc = services_with(env, demo_tokens_per_second="5")
    at = app()
    at.button(key="start").click().run()
    run_id = at.query_params["run"]
    assert svc.manager.get(run_id).status.live
    start = at.button(key="start")
    assert start.disabled
    start.proto.disabled = False  # as a browser whose page had not yet redrawn it
    start.click().run()
    no_traceback(at)
    assert at.query_params["run"] == run_id
    assert svc.store.list_runs().total == 1
    svc.manager.get(run_id).stop()


def test_the_message_box_waits_for_a_run(svc: Services) -> None:
    """Before a run the box is on the page, disabled (Start only enables it: no reflow, its
    scripts already loaded); nothing typed there is sent anywhere."""
    at = app()
    box = at.chat_input(key="interject")
    assert box.proto.disabled
    assert "Start a run" in box.proto.placeholder
    box.proto.disabled = False  # a message sent anyway (a stale page) goes nowhere
    box.set_value("Hello?").run()
    no_traceback(at)
    assert svc.store.list_runs().total == 0
    at.button(key="start").click().run()
    assert not at.chat_input(key="interject").proto.disabled
    svc.manager.get(at.query_params["run"]).stop()


def bottom_keys(at: AppTest) -> set[str]:
    """The widget keys in the bottom container (``st.bottom``, the root's fourth block),
    which stays pinned at the bottom of the window while the page scrolls."""
    bottom = at._tree.children.get(3)
    return set() if bottom is None else {k for node in bottom if (k := getattr(node, "key", None))}


def test_the_run_controls_are_in_the_pinned_bar(svc: Services, env: pytest.MonkeyPatch) -> None:
    """Start, Pause/Resume, Stop, Continue and the message box are in ``st.bottom`` (the run
    bar), not above the transcript, which grows and scrolls under them."""
    svc = services_with(env, demo_tokens_per_second="5")
    at = app()
    assert {"start", "interject"} <= bottom_keys(at)

    at.button(key="start").click().run()
    no_traceback(at)
    assert {"start", "pause", "stop", "interject"} <= bottom_keys(at)
    assert at.button(key="start").proto.shortcut
    assert at.button(key="stop").proto.shortcut

    at.button(key="pause").click().run()
    assert {"resume", "stop"} <= bottom_keys(at)

    at.button(key="stop").click().run()
    assert svc.manager.get(at.query_params["run"]).join(timeout=10)
    at.run()
    no_traceback(at)
    assert {"start", "continue", "interject"} <= bottom_keys(at)


def test_a_long_topic_is_a_short_heading_with_the_whole_text_on_hover(svc: Services) -> None:
    from duet_ui.shared.topic import TOPIC_HEADING, short_topic

    topic = "Should cities ban private cars from their centres, " * 6
    assert short_topic("Tea or coffee?") == "Tea or coffee?"
    cut = short_topic(topic)
    assert cut.endswith("…") and len(cut) <= TOPIC_HEADING and " ".join(topic.split())[:40] in cut

    at = app()
    at.text_area(key="topic").set_value(topic)
    at.button(key="start").click().run()
    no_traceback(at)
    heading = next(s for s in at.subheader if s.value.startswith("Should cities"))
    assert len(heading.value) <= TOPIC_HEADING + 10  # (markdown escapes)
    assert "centres" in heading.proto.help and len(heading.proto.help) > len(heading.value)
    svc.manager.get(at.query_params["run"]).stop()


def test_time_limit_and_loop_detection_are_set_loaded_and_started(svc: Services) -> None:
    at = app()
    assert at.number_input(key="max_seconds").value == 0.0
    assert at.checkbox(key="loop_detection").value is False
    config = RunConfig(
        topic="Tea or coffee?", max_turns=2, bots=[BotConfig(), BotConfig(name="Bo")]
    ).model_copy(update={"max_seconds": 120.0, "loop_window": 3})
    at.file_uploader(key="load_setup").set_value(
        ("setup.json", config.dump_json().encode(), "application/json")
    ).run()
    no_traceback(at)
    assert at.number_input(key="max_seconds").value == 120.0
    assert at.checkbox(key="loop_detection").value is True

    at.button(key="start").click().run()
    no_traceback(at)
    run_id = at.query_params["run"]
    assert svc.manager.get(run_id).join(timeout=20)
    saved = svc.store.get_run(run_id).config
    assert (saved.max_seconds, saved.loop_window) == (120.0, 3)

    at.checkbox(key="loop_detection").uncheck().run()
    at.number_input(key="max_seconds").set_value(0.0).run()
    at.button(key="start").click().run()
    no_traceback(at)
    again = at.query_params["run"]
    assert again != run_id and svc.manager.get(again).join(timeout=20)
    saved = svc.store.get_run(again).config
    assert (saved.max_seconds, saved.loop_window) == (None, 0)
