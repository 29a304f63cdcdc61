"""The Admin page: only for admins; adding users, resetting passwords, roles (shown as they
are), disabling and removing accounts (each confirmed), API tokens for another account."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit_authenticator as stauth
import yaml
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[3] / "app.py")


def fresh_session() -> AppTest:
    return AppTest.from_file(APP, default_timeout=30)


def add_user(at: AppTest, username: str, password: str, repeat: str | None = None, **kw):
    at.text_input(key="new_username").input(username)
    at.text_input(key="new_name").input(kw.get("name", "New Person"))
    at.selectbox(key="new_role").select(kw.get("role", "user"))
    at.text_input(key="new_password").input(password)
    at.text_input(key="new_password_repeat").input(password if repeat is None else repeat)
    return at.button(key="add_user_submit").click().run()


def test_admin_adds_a_user_who_can_then_log_in(env, logged_in, login):
    at = logged_in("admin", "admin")
    assert not at.exception
    add_user(at, "Carol", "carol-pass-9", name="Carol King")
    assert not at.error
    assert [s.value for s in at.success] == ["Added carol (user)."]
    assert "carol" in list(at.dataframe[0].value["username"])

    text = env.auth_file.read_text()
    assert "carol-pass-9" not in text
    carol = yaml.safe_load(text)["credentials"]["usernames"]["carol"]
    assert stauth.Hasher.check_pw("carol-pass-9", carol["password"])
    assert carol["roles"] == ["user"]

    other = fresh_session()  # another browser, same server: sees the new account at once
    login(other, "carol", "carol-pass-9")
    assert other.session_state["authentication_status"] is True
    assert other.session_state["roles"] == ["user"]


@pytest.mark.parametrize(
    ("username", "password", "repeat", "message"),
    [
        ("x", "long-enough-1", None, "A username is 2 to 32 characters"),
        ("bad name", "long-enough-1", None, "A username is 2 to 32 characters"),
        ("dave", "short", None, "at least 8 characters"),
        ("dave", "long-enough-1", "long-enough-2", "The two passwords differ."),
        ("alice", "long-enough-1", None, "There is already a user 'alice'."),
        ("ALICE", "long-enough-1", None, "There is already a user 'alice'."),
    ],
)
def test_add_user_is_validated(env, logged_in, username, password, repeat, message):
    before = env.auth_file.read_text()
    at = add_user(logged_in("admin", "admin"), username, password, repeat)
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert not at.success
    assert env.auth_file.read_text() == before


def test_reset_password(env, logged_in, login):
    at = logged_in("admin", "admin")
    at.selectbox(key="admin_account").select("alice").run()
    at.text_input(key="reset_password").input("alice-new-pass")
    at.text_input(key="reset_password_repeat").input("alice-new-pass")
    at.button(key="reset_password_submit").click().run()
    assert [s.value for s in at.success] == ["The password of alice is changed."]

    old = login(fresh_session(), "alice", "alice-secret-1")
    assert old.session_state["authentication_status"] is False
    new = login(fresh_session(), "alice", "alice-new-pass")
    assert new.session_state["authentication_status"] is True


def test_non_admin_has_no_admin_page(logged_in):
    at = logged_in("alice")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("app_pages/admin.py")


def test_admin_page_refuses_a_non_admin_on_its_own(env, accounts, monkeypatch):
    """Even run on its own, without app.py, the page checks the role."""
    at = AppTest.from_file(str(Path(APP).parent / "app_pages" / "admin.py"), default_timeout=30)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "alice"
    at.session_state["roles"] = ["user"]
    at.run()
    assert [e.value for e in at.error] == ["Access denied: the Admin page is for administrators."]
    assert not at.text_input


def test_hand_edited_auth_file_is_picked_up(env, logged_in, login, password_hashes):
    logged_in("admin")  # the server has read the file
    config = yaml.safe_load(env.auth_file.read_text())
    config["credentials"]["usernames"]["erin"] = {
        "email": "",
        "first_name": "Erin",
        "last_name": "",
        "password": "typed-in-plain",  # hashed when the file is read again
        "roles": ["user"],
    }
    env.auth_file.write_text(yaml.safe_dump(config))
    at = login(fresh_session(), "erin", "typed-in-plain")
    assert at.session_state["authentication_status"] is True
    assert "typed-in-plain" not in env.auth_file.read_text()


def test_unwritable_auth_file_is_an_error_and_changes_nothing(env, logged_in, monkeypatch):
    import duet_core.accounts

    at = logged_in("admin", "admin")

    def fail(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(duet_core.accounts.file, "write_yaml_atomically", fail)
    add_user(at, "frank", "frank-pass-1")
    assert not at.exception
    assert any("Cannot write the auth file" in e.value for e in at.error)
    assert "frank" not in list(at.dataframe[0].value["username"])


def test_admin_adds_a_facilitator(env, logged_in):
    at = add_user(logged_in("admin", "admin"), "fay", "fay-pass-123", role="facilitator")
    assert [s.value for s in at.success] == ["Added fay (facilitator)."]
    fay = yaml.safe_load(env.auth_file.read_text())["credentials"]["usernames"]["fay"]
    assert fay["roles"] == ["facilitator"]


def test_a_role_change_counts_at_once_in_the_users_open_session(env, logged_in, login, accounts):
    alice = login(fresh_session(), "alice", accounts["alice"])
    assert alice.session_state["roles"] == ["user"]

    at = logged_in("admin", "admin")
    at.selectbox(key="admin_account").select("alice").run()
    at.selectbox(key="role_role").select("facilitator")
    at.button(key="role_submit").click().run()
    assert [s.value for s in at.success] == ["alice is now facilitator."]

    alice.run()  # her next script run, without logging in again
    assert alice.session_state["roles"] == ["facilitator"]


def test_the_last_admin_cannot_be_demoted(env, logged_in):
    at = logged_in("admin", "admin")
    at.selectbox(key="admin_account").select("admin").run()
    at.selectbox(key="role_role").select("user")
    at.button(key="role_submit").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "'admin' is the last administrator: make another one first."
    ]
    assert yaml.safe_load(env.auth_file.read_text())["credentials"]["usernames"]["admin"][
        "roles"
    ] == ["admin"]
    assert at.selectbox(key="role_role").value == "admin"  # shown as it still is


def role_shown(at: AppTest, username: str) -> str:
    at.selectbox(key="admin_account").select(username).run()
    assert not at.exception
    return at.selectbox(key="role_role").value


def test_change_a_role_shows_the_accounts_current_role(env, logged_in):
    at = logged_in("admin", "admin")
    add_user(at, "fay", "fay-pass-123", role="facilitator")
    assert role_shown(at, "admin") == "admin"
    assert role_shown(at, "fay") == "facilitator"
    assert role_shown(at, "alice") == "user"
    assert role_shown(at, "admin") == "admin"  # not what was shown last
    # a pick left unsaved is not carried to the next account
    at.selectbox(key="role_role").select("user")
    assert role_shown(at, "fay") == "facilitator"


def test_disable_after_a_confirmation_then_enable(env, logged_in, login, accounts):
    alice = login(fresh_session(), "alice", accounts["alice"])  # signed in elsewhere
    at = logged_in("admin", "admin")
    at.selectbox(key="admin_account").select("alice").run()
    at.button(key="admin_disable").click().run()
    assert "Disable alice?" in at.warning[0].value
    assert "disabled" not in env.auth_file.read_text()  # nothing yet
    at.button(key="admin_confirm_yes").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["alice is disabled."]
    assert yaml.safe_load(env.auth_file.read_text())["credentials"]["usernames"]["alice"][
        "disabled"
    ]
    frame = at.dataframe[0].value
    assert dict(zip(frame["username"], frame["status"], strict=True))["alice"] == "disabled"

    alice.run()  # her open session ends on its next run
    assert alice.session_state["authentication_status"] is not True
    again = login(fresh_session(), "alice", accounts["alice"])
    assert again.session_state["authentication_status"] is not True

    at.button(key="admin_enable").click().run()
    at.button(key="admin_confirm_yes").click().run()
    assert [s.value for s in at.success] == ["alice is enabled: they can sign in again."]
    back = login(fresh_session(), "alice", accounts["alice"])
    assert back.session_state["authentication_status"] is True


def test_remove_after_a_confirmation_revokes_the_tokens(env, logged_in, store):
    from duet_core.store.tokens import ApiTokens

    _, secret = ApiTokens(store).create("bob", "bob's")
    at = logged_in("admin", "admin")
    at.selectbox(key="admin_account").select("bob").run()
    at.button(key="admin_remove").click().run()
    assert "Remove bob for good?" in at.warning[0].value
    at.button(key="admin_confirm_no").click().run()  # cancelled: nothing happens
    assert not at.warning and "bob" in env.auth_file.read_text()
    at.button(key="admin_remove").click().run()
    at.button(key="admin_confirm_yes").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["bob is removed."]
    assert "bob" not in yaml.safe_load(env.auth_file.read_text())["credentials"]["usernames"]
    assert "bob" not in list(at.dataframe[0].value["username"])
    assert at.selectbox(key="admin_account").value != "bob"
    assert ApiTokens(store).find(secret) is None


def test_an_admin_cannot_disable_or_remove_themselves(env, logged_in):
    at = logged_in("admin", "admin")
    at.selectbox(key="admin_account").select("admin").run()
    assert any("This is your account" in c.value for c in at.caption)
    keys = {b.key for b in at.button}
    assert "admin_disable" not in keys and "admin_remove" not in keys


def test_an_admin_makes_and_revokes_a_token_for_another_account(env, logged_in, store):
    from duet_core.store.tokens import ApiTokens

    at = logged_in("admin", "admin")
    at.selectbox(key="admin_account").select("bob").run()
    at.text_input(key="admin_token_name").input("for bob")
    at.button(key="admin_make_token_submit").click().run()
    assert not at.exception
    secret = at.code[0].value
    found = ApiTokens(store).find(secret)
    assert found is not None and (found.username, found.name) == ("bob", "for bob")
    at.run()
    assert not at.code  # shown once
    at.selectbox(key="admin_revoke_id").select(found.id)
    at.button(key="admin_revoke_token_submit").click().run()
    assert not at.exception
    assert ApiTokens(store).find(secret) is None


def test_the_role_shown_is_the_accounts_highest():
    from duet_core.accounts import Account
    from duet_ui.shell.admin import current_role

    def account(*roles: str) -> Account:
        return Account("x", "X", "", roles)

    assert current_role(account("user")) == "user"
    assert current_role(account("facilitator")) == "facilitator"
    assert current_role(account("user", "admin")) == "admin"  # a hand-edited file
    assert current_role(account()) == "user"
