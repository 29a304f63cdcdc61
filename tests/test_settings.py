"""Settings: one way to read them (environment, then .streamlit/secrets.toml through
pydantic-settings' TOML source), and one clear line for a bad value."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from duet_core.errors import ConfigError
from duet_core.settings import SECRETS_FILE, Settings, load_settings

KEY_VARS = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "DUET_COMPATIBLE_API_KEY",
    "OPENAI_COMPATIBLE_API_KEY",
    "OPENAI_BASE_URL",
    "DUET_MAX_TURNS",
    "DUET_DATABASE_URL",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in KEY_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def secrets(tmp_path):
    path = tmp_path / "secrets.toml"

    def write(text: str):
        path.write_text(text, encoding="utf-8")
        return path

    return write


def test_keys_and_settings_from_the_secrets_file(secrets):
    path = secrets(
        'OPENAI_API_KEY = "sk-from-file"\n'
        'ANTHROPIC_API_KEY = "sk-ant-file"\n'
        'DUET_COMPATIBLE_API_KEY = "local-key"\n'
        'OPENAI_BASE_URL = "http://127.0.0.1:9/v1"\n'
        'DUET_DATABASE_URL = "postgresql://duet:pw@db/duet"\n'
        "DUET_MAX_TURNS = 12\n"
        "[connections.other]\n"  # Streamlit's own sections are left alone
        'url = "x"\n'
    )
    s = load_settings(path)
    assert s.api_key("openai") == "sk-from-file"
    assert s.api_key("anthropic") == "sk-ant-file"
    assert s.api_key("openai_compatible") == "local-key"
    assert s.openai_base_url == "http://127.0.0.1:9/v1"
    assert s.database_url == "postgresql://duet:pw@db/duet"
    assert s.max_turns == 12
    assert "sk-from-file" not in repr(s) and "local-key" not in repr(s)


def test_the_compatible_key_under_its_other_name(secrets):
    s = load_settings(secrets('OPENAI_COMPATIBLE_API_KEY = "other-name"\n'))
    assert s.api_key("openai_compatible") == "other-name"


def test_environment_wins_and_an_empty_variable_counts_as_unset(secrets, monkeypatch):
    path = secrets('OPENAI_API_KEY = "sk-file"\nANTHROPIC_API_KEY = "sk-ant-file"\n')
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "")
    s = load_settings(path)
    assert s.api_key("openai") == "sk-env"
    assert s.api_key("anthropic") == "sk-ant-file"


def test_no_secrets_file_is_fine_and_settings_alone_never_read_one(tmp_path, monkeypatch):
    assert load_settings(tmp_path / "none.toml").api_key("openai") is None
    monkeypatch.chdir(tmp_path)
    (tmp_path / SECRETS_FILE).parent.mkdir()
    (tmp_path / SECRETS_FILE).write_text('OPENAI_API_KEY = "sk-default-place"\n')
    assert load_settings().api_key("openai") == "sk-default-place"
    assert Settings().api_key("openai") is None


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "DUET_MAX_TURNS",
            "lots",
            "Invalid setting DUET_MAX_TURNS='lots': should be a whole number",
        ),
        ("DUET_MAX_TURNS", "0", "Invalid setting DUET_MAX_TURNS='0': should be at least 1"),
        (
            "DUET_REQUEST_TIMEOUT",
            "-1",
            "Invalid setting DUET_REQUEST_TIMEOUT='-1': should be more than 0",
        ),
        (
            "DUET_LOG_LEVEL",
            "LOUD",
            "Invalid setting DUET_LOG_LEVEL='LOUD': "
            "should be one of DEBUG, INFO, WARNING, ERROR or CRITICAL",
        ),
        ("DUET_PRICES_FILE", "/no/such/prices.json", "'/no/such/prices.json': no such file"),
        ("DUET_DEV_MODE", "maybe", "DUET_DEV_MODE='maybe': should be 1/0, true/false"),
        ("DUET_STALL_TIMEOUT", "nan", "DUET_STALL_TIMEOUT='nan': should be a finite number"),
        ("DUET_REQUEST_TIMEOUT", "inf", "DUET_REQUEST_TIMEOUT='inf': should be a finite number"),
        ("DUET_LEASE_SECONDS", "0", "DUET_LEASE_SECONDS='0': should be more than 0"),
        ("DUET_LOCAL_MODEL", "/no/model.gguf", "DUET_LOCAL_MODEL='/no/model.gguf': no such file"),
        ("DUET_OFFLINE_PROVIDER", "gpt", "OFFLINE_PROVIDER='gpt': should be one of demo or local"),
    ],
)
def test_a_bad_variable_is_one_line_naming_it(monkeypatch, tmp_path, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as e:
        load_settings(tmp_path / "none.toml")
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_two_bad_variables_are_still_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("DUET_MAX_TURNS", "lots")
    monkeypatch.setenv("DUET_LOG_LEVEL", "LOUD")
    with pytest.raises(ConfigError) as e:
        load_settings(tmp_path / "none.toml")
    assert "DUET_MAX_TURNS='lots'" in str(e.value) and "DUET_LOG_LEVEL='LOUD'" in str(e.value)
    assert "\n" not in str(e.value)


def test_log_level_in_any_case(monkeypatch, tmp_path):
    monkeypatch.setenv("DUET_LOG_LEVEL", "debug")
    assert load_settings(tmp_path / "none.toml").log_level == "DEBUG"


def test_a_bad_key_is_named_but_never_shown(secrets):
    with pytest.raises(ConfigError) as e:
        load_settings(secrets("OPENAI_API_KEY = 12345678\n"))
    assert "OPENAI_API_KEY" in str(e.value) and "12345678" not in str(e.value)


def test_a_broken_secrets_file_is_one_line(secrets):
    for text in ('OPENAI_API_KEY = "unterminated\n', "\xff\xfe"):
        path = secrets("")
        path.write_bytes(text.encode("latin-1") if text.startswith("\xff") else text.encode())
        with pytest.raises(ConfigError) as e:
            load_settings(path)
        assert str(e.value).startswith(f"Cannot read {path}:")
        assert "\n" not in str(e.value)


NAMES = ["DUET_MAX_TURNS", "DUET_REQUEST_TIMEOUT", "DUET_STALL_TIMEOUT", "DUET_LOG_LEVEL"]
VALUES = st.text(
    alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.sampled_from(NAMES), value=VALUES)
def test_any_value_is_taken_or_refused_in_one_line(tmp_path, name, value):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(name, value)
        try:
            s = load_settings(tmp_path / "none.toml")
        except ConfigError as e:
            assert str(e).startswith(f"Invalid setting {name}=") and "\n" not in str(e)
        else:
            assert s.max_turns >= 1 and 0 < s.request_timeout < float("inf")
            assert 0 < s.stall_timeout < float("inf")
            assert s.log_level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
