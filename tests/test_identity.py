"""duet_core.identity: roles from an OpenID Provider's groups, the subject key, expiry; the
settings that configure it; and the accounts file's records of such people."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml

from duet_core.accounts import AccountsFile
from duet_core.errors import ConfigError
from duet_core.identity import (
    RoleMapping,
    display_name,
    expired,
    expires_at,
    groups_in,
    identity_from_claims,
    is_identity_key,
    roles_for,
    subject_key,
)
from duet_core.settings import Settings, load_settings
from duet_core.vocabulary import ADMIN, FACILITATOR, USER

ISS = "https://idp.example.org/realms/duet"
MAPPING = RoleMapping(
    claim="groups", admin_groups=("duet-admins",), facilitator_groups=("lab", "teachers")
)


def claims(**more):
    return {"iss": ISS, "sub": "248289761001", "name": "Jane Doe", **more}


@pytest.mark.parametrize(
    ("groups", "roles"),
    [
        (["duet-admins"], (ADMIN,)),
        (["teachers", "staff"], (FACILITATOR,)),
        (["lab", "duet-admins"], (ADMIN, FACILITATOR)),
        (["staff"], (USER,)),
        ([], (USER,)),
        ("duet-admins", (ADMIN,)),  # one group sent as a string
        (None, (USER,)),  # no claim at all
    ],
)
def test_groups_map_to_roles(groups, roles):
    given = claims() if groups is None else claims(groups=groups)
    assert roles_for(given, MAPPING) == roles


def test_someone_in_no_mapped_group_is_refused_when_the_mapping_says_so():
    strict = RoleMapping(admin_groups=("duet-admins",), refuse_unmapped=True)
    assert roles_for(claims(groups=["staff"]), strict) is None
    assert identity_from_claims(claims(groups=["staff"]), strict) is None
    assert roles_for(claims(groups=["duet-admins"]), strict) == (ADMIN,)


def test_group_names_match_exactly():
    assert roles_for(claims(groups=["Duet-Admins", "duet-admins-old"]), MAPPING) == (USER,)


def test_a_dotted_claim_reaches_into_nested_claims():
    keycloak = claims(realm_access={"roles": ["duet-admins", "offline_access"]})
    assert groups_in(keycloak, "realm_access.roles") == ["duet-admins", "offline_access"]
    assert roles_for(keycloak, RoleMapping("realm_access.roles", ("duet-admins",))) == (ADMIN,)
    assert groups_in(keycloak, "realm_access.missing") == []
    assert groups_in(claims(groups={"not": "a list"}), "groups") == []


def test_the_subject_key_is_stable_and_distinct_per_issuer():
    key = subject_key(ISS, "248289761001")
    assert key == subject_key(ISS, "248289761001")
    assert key != subject_key("https://other.example.org", "248289761001")
    assert key != subject_key(ISS, "248289761002")
    assert is_identity_key(key) and ":" in key  # never a local username (no ':' there)


def test_an_identity_is_keyed_by_subject_and_shown_by_name():
    person = identity_from_claims(claims(email=" jane@example.org ", groups=["lab"]), MAPPING)
    assert person is not None
    assert person.key == subject_key(ISS, "248289761001")
    assert (person.name, person.email, person.roles) == (
        "Jane Doe",
        "jane@example.org",
        ("facilitator",),
    )
    renamed = identity_from_claims(claims(name="Jane Smith", groups=["lab"]), MAPPING)
    assert renamed is not None and renamed.key == person.key  # a new name, the same runs


def test_display_name_falls_back():
    assert display_name({"preferred_username": "jdoe", "sub": "1"}) == "jdoe"
    assert display_name({"email": "j@example.org", "sub": "1"}) == "j@example.org"
    assert display_name({"given_name": "Jane", "family_name": "Doe", "sub": "1"}) == "Jane Doe"
    assert display_name({"sub": "1"}) == "1"


def test_claims_without_iss_or_sub_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="no iss or sub"):
        identity_from_claims({"sub": "1"}, MAPPING)


def test_expiry_follows_the_id_tokens_exp():
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    exp = int((now + timedelta(minutes=5)).timestamp())
    assert expires_at({"exp": exp}) == now + timedelta(minutes=5)
    assert not expired({"exp": exp}, now)
    assert expired({"exp": exp}, now + timedelta(minutes=5))
    assert expired({}, now)  # OIDC requires exp: none is not "forever"
    assert expired({"exp": "tomorrow"}, now)
    assert expired({"exp": True}, now)


def test_settings_read_group_lists(monkeypatch):
    monkeypatch.setenv("DUET_OIDC_ADMIN_GROUPS", " duet-admins , ops ,")
    monkeypatch.setenv("DUET_OIDC_ROLE_CLAIM", "roles")
    monkeypatch.setenv("DUET_OIDC_REFUSE_UNMAPPED", "yes")
    settings = Settings()
    assert settings.oidc_admin_groups == ("duet-admins", "ops")
    assert settings.oidc_facilitator_groups == ()
    mapping = RoleMapping.from_settings(settings)
    assert (mapping.claim, mapping.refuse_unmapped) == ("roles", True)
    assert settings.local_accounts is True  # local accounts stay the default


def test_settings_read_group_lists_from_the_secrets_file(tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('DUET_OIDC_FACILITATOR_GROUPS = ["lab", "teachers"]\n')
    assert load_settings(secrets).oidc_facilitator_groups == ("lab", "teachers")


def test_accounts_file_remembers_an_identity_for_its_api_tokens(tmp_path):
    path = tmp_path / "auth.yaml"
    accounts = AccountsFile(path, on_create=lambda *_: None)
    person = identity_from_claims(claims(groups=["lab"]), MAPPING)
    assert person is not None and accounts.account(person.key) is None
    accounts.remember_identity(person)
    found = accounts.account(person.key)
    assert found is not None and (found.name, found.roles) == ("Jane Doe", (FACILITATOR,))
    # another process's view of the same file sees it; the library's credentials do not
    other = AccountsFile(path)
    assert other.account(person.key) == found
    assert person.key not in other.credentials["usernames"]
    assert [a.username for a in other.accounts()] == ["admin"]
    assert other.identity_names() == {person.key: "Jane Doe"}  # History's owner column
    written = yaml.safe_load(path.read_text())
    assert written["identities"][person.key]["subject"] == "248289761001"

    accounts.forget_identity(person.key)  # refused at a later sign-in
    assert accounts.account(person.key) is None
    assert other.account(person.key) is None  # read again: the file changed


def test_first_start_lasts_until_the_admin_password_changes(tmp_path):
    accounts = AccountsFile(tmp_path / "auth.yaml", on_create=lambda *_: None)
    assert accounts.first_start
    assert not AccountsFile(tmp_path / "auth.yaml").first_start  # not this process's file
    accounts.set_password("admin", "a-new-password")
    assert not accounts.first_start


def test_an_unwritable_file_keeps_memory_as_the_file_is(tmp_path, monkeypatch):
    accounts = AccountsFile(tmp_path / "auth.yaml", on_create=lambda *_: None)
    person = identity_from_claims(claims(), MAPPING)
    assert person is not None

    def full_disk(*_):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("duet_core.accounts.file.write_yaml_atomically", full_disk)
    with pytest.raises(ConfigError, match="No space left"):
        accounts.remember_identity(person)
    assert accounts.account(person.key) is None
