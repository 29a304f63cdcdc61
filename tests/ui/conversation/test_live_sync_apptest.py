"""A live run's settings on the conversation page when they change elsewhere (a PATCH over
HTTP, another viewer) while the browser still sends its older widget values.

The live panel's ``run_every`` timer sends the browser's widget values every 0.1 s; a tick sent
before the browser drew a setting the page showed carries the older value, and Streamlit keeps
it for the rerun the live panel asks for next (``st.rerun()``: the same script runner). A
person's own edit comes in a run of a new script runner. Under AppTest every ``run()`` is a new
runner; ``same_runner`` makes the next runs look like reruns the page asked for.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from duet_core.models import RunConfig
from duet_core.run.engine import LiveRun
from duet_ui.conversation import session
from duet_ui.shared.bot_form import DEFAULT_BOTS
from duet_ui.shell.services import Services
from tests.ui.conversation import test_conversation_apptest as page_tests
from tests.ui.conversation.test_conversation_apptest import (
    APP,
    TIMEOUT,
    no_traceback,
    services_with,
)

env, svc = page_tests.env, page_tests.svc  # the page tests' fixtures: environment, services


class Runner:
    """Stands for one script runner (Streamlit's request queue, weakly referenced)."""


def same_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = Runner()
    monkeypatch.setattr(session, "script_runner", lambda: runner, raising=False)


@pytest.fixture
def watched(svc: Services, env: pytest.MonkeyPatch) -> Iterator[tuple[LiveRun, AppTest]]:
    """A run started elsewhere (as over HTTP), watched on the page; Ada at 0.7."""
    svc = services_with(env, demo_tokens_per_second="2")  # turns take long: the run stays live
    config = RunConfig(topic="Trams or buses?", max_turns=12, bots=list(DEFAULT_BOTS))
    live = svc.manager.start(config, "dev", rate_limited=False)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["run"] = live.id
    at.run()
    no_traceback(at)
    assert at.slider(key="bot0_temperature").value == 0.7
    yield live, at
    live.stop()
    live.join(timeout=10)


def test_a_rerun_the_page_asked_for_keeps_a_change_made_elsewhere(
    watched: tuple[LiveRun, AppTest], monkeypatch: pytest.MonkeyPatch
) -> None:
    live, at = watched
    live.update_bot(0, {"temperature": 1.3})  # PATCH /api/run/{id}/bot/0
    same_runner(monkeypatch)
    at.run()  # the live panel reruns the page: it shows 1.3
    no_traceback(at)
    assert at.slider(key="bot0_temperature").value == 1.3

    # a tick the browser sent before it drew 1.3 comes with the next rerun the page asks for
    at.slider(key="bot0_temperature").set_value(0.7).run()
    no_traceback(at)
    assert live.bots()[0].temperature == 1.3  # the run keeps the change made elsewhere
    slider = at.slider(key="bot0_temperature")
    assert slider.value == 1.3 and slider.proto.set_value  # and the browser is shown it again
    assert live.bots()[1].temperature == 1.0


def test_a_persons_own_move_still_reaches_the_run(watched: tuple[LiveRun, AppTest]) -> None:
    live, at = watched
    live.update_bot(0, {"temperature": 1.3})
    at.run()
    assert at.slider(key="bot0_temperature").value == 1.3

    # the person moves the slider back to where it was: their own run, so it is an edit
    at.slider(key="bot0_temperature").set_value(0.7).run()
    no_traceback(at)
    assert live.bots()[0].temperature == 0.7
    at.slider(key="bot1_temperature").set_value(0.9).run()
    no_traceback(at)
    assert [b.temperature for b in live.bots()] == [0.7, 0.9]


def test_an_edit_the_run_refused_stays_on_screen_through_the_pages_own_reruns(
    watched: tuple[LiveRun, AppTest], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A value the form cannot take is shown with its error; a rerun the page asks for keeps
    what the page drew (the person's value and its error), not the run's setting."""
    live, at = watched
    at.text_input(key="bot0_name").set_value("").run()
    errors = [e.value for e in at.error]
    assert errors, "an empty name is refused"
    same_runner(monkeypatch)
    at.run()
    no_traceback(at)
    assert at.text_input(key="bot0_name").value == ""
    assert [e.value for e in at.error] == errors
    assert live.bots()[0].name == "Ada"


def page_that_reruns_itself_once() -> None:
    import streamlit as st

    from duet_core.models import BotConfig, Run, RunConfig
    from duet_core.run.state import RunState
    from duet_ui.conversation.session import LiveView

    if "view" not in st.session_state:
        bot = BotConfig(name="Ada", provider="demo", model="duet-demo")
        run = Run(owner="dev", config=RunConfig(topic="t", bots=[bot, bot]))
        st.session_state.view = LiveView(RunState.of(run))
        st.session_state.asked = []
    st.session_state.asked.append(st.session_state.view.begin_page_run()[1])
    if len(st.session_state.asked) == 1:
        st.rerun()  # as the live panel does


def test_the_page_knows_the_reruns_it_asked_for() -> None:
    at = AppTest.from_function(page_that_reruns_itself_once, default_timeout=TIMEOUT).run()
    assert at.session_state.asked == [False, True]  # st.rerun(): the same script runner
    at.run()  # a run from outside (a person's, in the browser: a new runner)
    assert at.session_state.asked == [False, True, False]
