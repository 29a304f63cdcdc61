"""Bot 1's provider and model under AppTest, through runs that do not draw the form (issue 7,
"A first choice is lost").

The reported symptom, provider back to "Offline demo" while the model stays "gpt-4o-mini", is
what Streamlit's stale-widget clean-up gives when a run takes the provider change (its
``on_change`` writes the model as a plain session value, which survives) but does not draw the
provider box (its widget state is dropped, and the next run seeds the default again). The
form's widgets keep their values across such runs (``persist_state="session"``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from duet_core.services import forget_services
from duet_ui.shell.services import Services, services


def form_app() -> None:
    import streamlit as st

    from duet_ui.shared import bot_form
    from duet_ui.shell.services import services

    if not st.session_state.get("away"):  # e.g. a run stopped by the login gate
        form = bot_form.bot_form(0, bot_form.DEFAULT_BOTS[0], services().settings, {})
        st.write(f"{form.values['provider']} {form.values['model']}")


@pytest.fixture
def svc(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[Services]:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DUET_DEV_MODE", "1")
    monkeypatch.setenv("DUET_DATABASE_URL", f"sqlite:///{tmp_path / 'duet.db'}")
    monkeypatch.setenv("DUET_LOG_LEVEL", "WARNING")
    forget_services()
    s = services()
    yield s
    s.manager.stop_all()
    s.store.close()
    forget_services()


def shown(at: AppTest) -> str:
    assert not at.exception, [e.value for e in at.exception]
    return at.markdown[-1].value


@pytest.mark.parametrize("away_with_the_change", [True, False])
def test_provider_and_model_survive_a_run_without_the_form(
    svc: Services, away_with_the_change: bool
) -> None:
    at = AppTest.from_function(form_app, default_timeout=30).run()
    at.selectbox(key="bot0_provider").set_value("openai")
    if away_with_the_change:  # the run that takes the change does not draw the form
        at.session_state["away"] = True
        at.run()
    else:
        at.run()
        assert shown(at) == "openai gpt-4.1-mini"
        at.session_state["away"] = True
        at.run()
    at.session_state["away"] = False
    at.run()
    assert shown(at) == "openai gpt-4.1-mini"
    at.selectbox(key="bot0_model").set_value("gpt-4o-mini").run()
    assert shown(at) == "openai gpt-4o-mini"
    assert at.selectbox(key="bot0_provider").value == "openai"


def test_a_model_picked_before_the_providers_default_arrives_is_shown_back(
    svc: Services,
) -> None:
    """A provider change pushes its default model to the browser. When the person picks a
    model before that push lands, the browser shows the pushed default over their pick; the
    next run sends their pick back to the browser (``set_value``) so the two agree."""
    at = AppTest.from_function(form_app, default_timeout=30).run()
    at.selectbox(key="bot0_provider").set_value("openai").run()
    assert at.selectbox(key="bot0_model").proto.set_value  # the default, pushed
    at.selectbox(key="bot0_model").set_value("gpt-4o-mini").run()
    assert shown(at) == "openai gpt-4o-mini"
    model = at.selectbox(key="bot0_model")
    assert model.value == "gpt-4o-mini" and model.proto.set_value  # the pick, shown back
    at.run()
    assert not at.selectbox(key="bot0_model").proto.set_value  # once only
