"""Accounts without Streamlit: the YAML file, roles, hashing and validation."""

from __future__ import annotations

import subprocess
import sys

import pytest
import streamlit_authenticator as stauth
import yaml

from duet_core import accounts as acc
from duet_core.accounts import ADMIN, FACILITATOR, USER, AccountsFile, has_role
from duet_core.errors import ConfigError


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

    monkeypatch.setattr(acc, "write_yaml_atomically", fail)
    with pytest.raises(ConfigError, match="Cannot write the auth file"):
        accounts.set_roles("admin", [ADMIN, FACILITATOR])
    assert accounts.account("admin").roles == (ADMIN,)
