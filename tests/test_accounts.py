"""Accounts without Streamlit: the YAML file, roles, hashing and validation."""

from __future__ import annotations

import subprocess
import sys

import pytest
import streamlit_authenticator as stauth
import yaml

from duet_core import accounts as acc
from duet_core.accounts import AccountsFile, has_role
from duet_core.errors import ConfigError
from duet_core.vocabulary import ADMIN, FACILITATOR, USER


@pytest.fixture
def accounts(tmp_path) -> AccountsFile:
    created: list[str] = []
    a = AccountsFile(tmp_path / "auth.yaml", on_create=lambda path, pw: created.append(pw))
    a.first_password = created[0]  # type: ignore[attr-defined]
    return a


def test_no_streamlit_in_the_accounts_module():
    code = "import sys, duet_core.accounts; sys.exit('streamlit' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_hashes_are_the_ones_streamlit_authenticator_checks(accounts):
    hashed = acc.hash_password("a-password-1")
    assert stauth.Hasher.is_hash(hashed) and acc.is_hash(hashed)
    assert stauth.Hasher.check_pw("a-password-1", hashed)
    assert acc.password_matches("a-password-1", stauth.Hasher.hash("a-password-1"))
    assert not acc.password_matches("other", hashed)
    assert not acc.password_matches("x", "not a hash")


def test_a_new_file_has_one_admin_with_a_hashed_random_password(accounts):
    data = yaml.safe_load(accounts.path.read_text())
    admin = data["credentials"]["usernames"]["admin"]
    assert admin["roles"] == [ADMIN]
    assert acc.password_matches(accounts.first_password, admin["password"])
    assert accounts.first_password not in accounts.path.read_text()
    assert len(data["cookie"]["key"]) >= acc.COOKIE_KEY_MIN_LENGTH


@pytest.mark.parametrize(
    ("roles", "wanted", "expected"),
    [
        ((USER,), (FACILITATOR,), False),
        ((FACILITATOR,), (FACILITATOR,), True),
        ((ADMIN,), (FACILITATOR,), True),  # an admin may do what a facilitator may
        ((FACILITATOR,), (ADMIN,), False),
        ((USER,), (USER,), True),
        ((), (ADMIN, FACILITATOR), False),
    ],
)
def test_has_role(roles, wanted, expected):
    assert has_role(roles, *wanted) is expected


def test_add_a_facilitator_and_change_roles(accounts):
    added = accounts.add_user("Fay", "fay-pass-123", name="Fay Lee", roles=[FACILITATOR])
    assert added.username == "fay" and added.roles == (FACILITATOR,)
    assert accounts.account("FAY").roles == (FACILITATOR,)
    assert accounts.set_roles("fay", [ADMIN]).roles == (ADMIN,)
    on_disk = yaml.safe_load(accounts.path.read_text())["credentials"]["usernames"]["fay"]
    assert on_disk["roles"] == [ADMIN]
    with pytest.raises(ConfigError, match="Unknown role 'owner'"):
        accounts.set_roles("fay", ["owner"])
    with pytest.raises(ConfigError, match="There is no user 'nobody'"):
        accounts.set_roles("nobody", [USER])


def test_the_last_admin_keeps_the_admin_role(accounts):
    with pytest.raises(ConfigError, match="'admin' is the last administrator"):
        accounts.set_roles("admin", [USER])
    accounts.add_user("second", "second-pass-1", roles=[ADMIN])
    assert accounts.set_roles("admin", [FACILITATOR]).roles == (FACILITATOR,)


def test_validation_messages(accounts):
    with pytest.raises(ConfigError, match="A username is 2 to 32 characters"):
        accounts.add_user("x", "long-enough-1")
    with pytest.raises(ConfigError, match="at least 8 characters"):
        accounts.add_user("dave", "short")
    with pytest.raises(ConfigError, match="at most 72 bytes"):
        accounts.add_user("dave", "é" * 40)
    with pytest.raises(ConfigError, match="must not start or end with a space"):
        accounts.set_password("admin", " padded-password ")
    with pytest.raises(ConfigError, match="The two passwords differ"):
        accounts.set_password("admin", "long-enough-1", repeat="long-enough-2")


def test_a_hand_edit_is_read_and_plain_passwords_hashed(accounts):
    data = yaml.safe_load(accounts.path.read_text())
    data["credentials"]["usernames"]["Erin"] = {"password": "typed-in-plain", "roles": ["user"]}
    data["cookie"]["key"] = "short"
    accounts.path.write_text(yaml.safe_dump(data))
    accounts.reload_if_changed()
    assert accounts.account("erin").roles == (USER,)
    text = accounts.path.read_text()
    assert "typed-in-plain" not in text
    saved = yaml.safe_load(text)
    assert acc.password_matches(
        "typed-in-plain", saved["credentials"]["usernames"]["erin"]["password"]
    )
    assert len(saved["cookie"]["key"]) >= acc.COOKIE_KEY_MIN_LENGTH  # a guessable key replaced


@pytest.mark.parametrize("text", ["- a list\n", "credentials: {usernames: [1, 2]}\n", "a: [\n"])
def test_a_broken_file_is_one_clear_error(tmp_path, text):
    path = tmp_path / "auth.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="auth file"):
        AccountsFile(path)


def test_a_failed_write_leaves_memory_as_the_file_is(accounts, monkeypatch):
    def fail(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(acc.file, "write_yaml_atomically", fail)  # where it writes
    with pytest.raises(ConfigError, match="Cannot write the auth file"):
        accounts.set_roles("admin", [ADMIN, FACILITATOR])
    assert accounts.account("admin").roles == (ADMIN,)


def test_a_disabled_account_cannot_sign_in_until_enabled(accounts):
    accounts.add_user("dora", "dora-pass-12", roles=[USER])
    disabled = accounts.disable_user("Dora", by="admin")
    assert disabled.disabled and disabled.username == "dora"
    # neither the login form (credentials) nor the API (account, verify) knows it now
    assert "dora" not in accounts.credentials["usernames"]
    assert accounts.account("dora") is None
    assert accounts.verify("dora", "dora-pass-12") is None
    # it is still listed, and kept in the file with the flag
    listed = {a.username: a for a in accounts.accounts()}
    assert listed["dora"].disabled and not listed["admin"].disabled
    on_disk = yaml.safe_load(accounts.path.read_text())["credentials"]["usernames"]["dora"]
    assert on_disk["disabled"] is True
    # a fresh reader of the file sees the same
    again = AccountsFile(accounts.path)
    assert again.account("dora") is None and [a.disabled for a in again.accounts()] == [
        False,
        True,
    ]
    with pytest.raises(ConfigError, match="There is already a user 'dora'"):
        accounts.add_user("dora", "other-pass-12")
    assert accounts.set_roles("dora", [FACILITATOR]).roles == (FACILITATOR,)  # still editable
    enabled = accounts.enable_user("dora")
    assert not enabled.disabled and enabled.roles == (FACILITATOR,)
    assert accounts.verify("dora", "dora-pass-12") is not None
    assert (
        "disabled"
        not in yaml.safe_load(accounts.path.read_text())["credentials"]["usernames"]["dora"]
    )


def test_no_one_disables_or_removes_themselves_or_the_last_admin(accounts):
    accounts.add_user("second", "second-pass-1", roles=[ADMIN])
    for change in (accounts.disable_user, accounts.remove_user):
        with pytest.raises(ConfigError, match=r"cannot .* your own account"):
            change("admin", by="Admin")
        with pytest.raises(ConfigError, match="There is no user 'ghost'"):
            change("ghost", by="admin")
    accounts.disable_user("second", by="admin")
    # a disabled admin does not count: admin is the last one who can sign in
    with pytest.raises(ConfigError, match="'admin' is the last administrator"):
        accounts.disable_user("admin")
    with pytest.raises(ConfigError, match="'admin' is the last administrator"):
        accounts.set_roles("admin", [USER])
    accounts.remove_user("second", by="admin")  # a disabled account can be removed
    assert [a.username for a in accounts.accounts()] == ["admin"]
    assert "second" not in accounts.path.read_text()


def test_a_failed_disable_leaves_memory_as_the_file_is(accounts, monkeypatch):
    accounts.add_user("dora", "dora-pass-12")

    def fail(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(acc.file, "write_yaml_atomically", fail)  # where it writes
    with pytest.raises(ConfigError, match="Cannot write the auth file"):
        accounts.disable_user("dora")
    assert accounts.account("dora") is not None and not accounts.disabled
