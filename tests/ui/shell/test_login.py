"""The login gate: first start, right and wrong passwords, logout, development mode."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import streamlit as st
import streamlit_authenticator as stauth
import yaml
from streamlit.testing.v1 import AppTest

from duet_core.services import forget_services
from duet_ui.shell.login import DEV_BANNER, FIRST_START_HINT

APP = str(Path(__file__).resolve().parents[3] / "app.py")
CREATED = re.compile(r"Duet: created (\S+) with user admin, password (\S+) — change it")


def test_first_start_creates_auth_file_with_hash_and_random_cookie_key(env, app, login, capsys):
    assert not env.auth_file.exists()
    app.run()
    assert not app.exception
    printed = CREATED.search(capsys.readouterr().err)
    assert printed and printed.group(1) == str(env.auth_file)
    # the login page says where that password is (it is not on the page)
    assert [i.value for i in app.info] == [FIRST_START_HINT]
    assert "printed in the terminal" in FIRST_START_HINT
    password = printed.group(2)

    config = yaml.safe_load(env.auth_file.read_text())
    admin = config["credentials"]["usernames"]["admin"]
    assert admin["roles"] == ["admin"]
    assert stauth.Hasher.is_hash(admin["password"])
    assert stauth.Hasher.check_pw(password, admin["password"])
    assert password not in env.auth_file.read_text()
    assert len(config["cookie"]["key"]) >= 60

    # printed once: a second session of the same server prints nothing
    AppTest.from_file(APP, default_timeout=30).run()
    assert "Duet: created" not in capsys.readouterr().err

    login(app, "admin", password)
    assert app.session_state["authentication_status"] is True
    assert not app.exception


def test_two_fresh_starts_get_different_cookie_keys(env, app, tmp_path, monkeypatch):
    app.run()
    first = yaml.safe_load(env.auth_file.read_text())["cookie"]["key"]
    other = tmp_path / "other" / "auth.yaml"
    monkeypatch.setenv("DUET_AUTH_FILE", str(other))
    st.cache_resource.clear()
    forget_services()
    AppTest.from_file(APP, default_timeout=30).run()
    second = yaml.safe_load(other.read_text())["cookie"]["key"]
    assert first != second


def test_nothing_of_the_app_before_login(accounts, app):
    app.run()
    assert [t.value for t in app.title] == [":material/forum: Duet"]
    assert not app.info  # an accounts file made before: no first-start hint
    assert [b.label for b in app.button] == ["Login"]  # no [auth]: no single sign-on button
    assert [w.label for w in app.text_input] == ["Username", "Password"]
    assert not app.sidebar.button
    assert not app.dataframe


def test_right_password_shows_a_page_and_logout_button(accounts, app, login):
    login(app, "alice", accounts["alice"])
    assert not app.exception
    assert app.session_state["authentication_status"] is True
    assert app.session_state["username"] == "alice"
    assert "Username" not in [w.label for w in app.text_input]
    assert app.sidebar.button(key="logout_button").label == "Log out"
    assert any("Alice" in c.value for c in app.sidebar.caption)

    app.switch_page("app_pages/history.py").run()
    assert ":material/history: History" in [t.value for t in app.title]


def test_wrong_password_shows_an_error_and_no_page(accounts, app, login):
    login(app, "alice", "not-her-password")
    assert app.session_state["authentication_status"] is False
    assert [e.value for e in app.error] == ["Wrong username or password."]
    assert [t.value for t in app.title] == [":material/forum: Duet"]
    assert not app.sidebar.button
    login(app, "nobody", "whatever-123")
    assert [e.value for e in app.error] == ["Wrong username or password."]


def test_logout_returns_to_the_login_form_and_forgets_the_session(accounts, app, login):
    login(app, "alice", accounts["alice"])
    app.session_state["apikey_openai"] = "sk-secret"
    app.sidebar.button(key="logout_button").click().run()
    assert not app.exception
    assert app.session_state["authentication_status"] is None
    assert "apikey_openai" not in app.session_state
    assert [w.label for w in app.text_input] == ["Username", "Password"]


def test_dev_mode_has_no_login_and_a_banner(env, app, monkeypatch):
    monkeypatch.setenv("DUET_DEV_MODE", "1")
    app.run()
    assert not app.exception
    assert app.warning[0].value == DEV_BANNER
    assert "Username" not in [w.label for w in app.text_input]
    assert not env.auth_file.exists()


def test_a_fresh_server_never_runs_a_page_without_the_login_gate(accounts, app, login):
    """No ``pages/`` folder next to app.py: Streamlit's old pages-folder mode, which would
    run a page script on its own (without app.py's login gate), is never entered."""
    from streamlit.runtime.pages_manager import PagesManager

    assert not (Path(APP).parent / "pages").exists()
    app.run()  # AppTest starts every run as a fresh process would
    assert not app.exception
    assert PagesManager.uses_pages_directory is False
    assert [w.label for w in app.text_input] == ["Username", "Password"]
    assert [t.value for t in app.title] == [":material/forum: Duet"]


def test_a_bad_setting_is_one_line_on_the_page(env, app, monkeypatch, capsys):
    monkeypatch.setenv("DUET_MAX_TURNS", "lots")
    app.run()
    assert not app.exception
    line = "Invalid setting DUET_MAX_TURNS='lots': should be a whole number"
    assert [e.value for e in app.error] == [line]
    assert not app.text_input  # no login form, no page
    app.run()
    assert [e.value for e in app.error] == [line]
    assert capsys.readouterr().err.count(line) == 1  # the terminal hears it once


def test_a_removed_account_is_logged_out(env, accounts, app, login):
    login(app, "alice", accounts["alice"])
    assert app.session_state["authentication_status"] is True
    config = yaml.safe_load(env.auth_file.read_text())
    del config["credentials"]["usernames"]["alice"]
    env.auth_file.write_text(yaml.safe_dump(config))
    app.run()
    assert not app.exception
    assert app.session_state["authentication_status"] is None
    assert [w.label for w in app.text_input] == ["Username", "Password"]


def facilitators_page() -> None:
    import streamlit as st

    from duet_core.accounts import FACILITATOR
    from duet_ui.shell.services import require_role

    viewer = require_role(FACILITATOR, page="the Prompt Lab")
    st.write(f"inside as {viewer.username}")


@pytest.mark.parametrize(
    ("roles", "allowed"),
    [(["user"], False), (["facilitator"], True), (["admin"], True), (["user", "admin"], True)],
)
def test_require_role_for_a_facilitators_page(env, roles, allowed):
    at = AppTest.from_function(facilitators_page, default_timeout=30)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "someone"
    at.session_state["roles"] = roles
    at.run()
    assert not at.exception
    if allowed:
        assert [m.value for m in at.markdown] == ["inside as someone"]
    else:
        assert [e.value for e in at.error] == ["Access denied: the Prompt Lab is for facilitators."]
        assert not at.markdown


def test_with_no_remember_me_cookie_the_page_shows_at_once(env, accounts, app):
    """cookie.expiry_days 0: nothing is written in the browser, so nothing to wait for."""
    config = yaml.safe_load(env.auth_file.read_text())
    config["cookie"]["expiry_days"] = 0
    env.auth_file.write_text(yaml.safe_dump(config))
    app.run()
    app.text_input[0].input("alice")
    app.text_input[1].input(accounts["alice"])
    next(b for b in app.button if b.label == "Login").click().run()
    assert not app.exception
    assert app.session_state["authentication_status"] is True
    assert app.sidebar.button(key="logout_button").label == "Log out"


def test_the_login_workarounds_were_checked_against_this_version():
    """duet_ui/shell/login.py relies on 0.4.2's behaviour (docs/dependencies.md); the tests above
    and tests/browser/test_login.py check it. Re-run them and re-read the library on upgrade."""
    from importlib.metadata import version

    assert version("streamlit-authenticator") == "0.4.2"
    assert version("extra-streamlit-components") == "0.1.81"  # writes the cookie


def _form_place(at: AppTest) -> list[int]:
    return [i for i, node in at.main.children.items() if node.type == "flex_container"]


def test_the_login_form_keeps_its_place_between_runs(accounts, app):
    """The library's cookie component is drawn in a session's first run only. Were the form
    to move up in later runs, the browser would show the old and the new form together while
    such a run draws (seen under load: two "Password" boxes)."""
    app.run()
    first = _form_place(app)
    assert len(first) == 1
    app.run()
    assert _form_place(app) == first
    login = next(b for b in app.button if b.label == "Login")
    app.text_input[0].input("alice")
    app.text_input[1].input("wrong-password")
    login.click().run()
    assert [e.value for e in app.error] == ["Wrong username or password."]
    assert _form_place(app) == first
