"""BotConfig/RunConfig validation, the model catalog, prices and settings."""

from __future__ import annotations

import json

import pytest

from duet_core import catalog
from duet_core.errors import ConfigError
from duet_core.models import BotConfig, RunConfig, validated
from duet_core.settings import load_settings


def test_known_models_come_from_the_sdks():
    assert "claude-sonnet-5-5" in catalog.known_models("anthropic")
    assert {"gpt-4.1-mini", "gpt-5.5", "o3"} <= set(catalog.known_models("openai"))
    assert catalog.known_models("openai_compatible") == ()
    # any typed id is accepted
    assert BotConfig(provider="openai", model="my-finetune-2027", temperature=0.3).model


@pytest.mark.parametrize(
    ("provider", "model", "temperature", "efforts"),
    [
        ("openai", "gpt-4.1-mini", True, ()),
        ("openai", "o3", False, catalog.OPENAI_EFFORTS),
        ("openai", "gpt-5.5", False, catalog.OPENAI_EFFORTS),
        ("openai", "gpt-5-chat-latest", True, ()),
        ("anthropic", "claude-opus-5-5", False, catalog.ANTHROPIC_EFFORTS),
        ("openai_compatible", "llama3.2", True, ()),
        ("demo", "duet-demo", True, ()),
    ],
)
def test_knobs_follow_provider_and_model(provider, model, temperature, efforts):
    k = catalog.knobs(provider, model)
    assert k.temperature is temperature and k.effort == efforts
    if not temperature:
        assert k.reason


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"temperature": 2.5}, "temperature: Input should be less than or equal to 2"),
        (
            {"provider": "anthropic", "model": "claude-haiku-5-5", "temperature": 1.0},
            "does not take temperature",
        ),
        ({"provider": "anthropic", "model": "claude-haiku-5-5", "top_p": 0.9}, "top_p"),
        ({"provider": "openai", "model": "o3", "temperature": 0.2}, "reasoning model"),
        ({"provider": "openai", "model": "gpt-4o", "effort": "high"}, "effort must be one of"),
        (
            {"provider": "anthropic", "model": "claude-opus-5-5", "effort": "minimal"},
            "low, medium, high, xhigh, max",
        ),
        (
            {"provider": "anthropic", "model": "claude-opus-5-5", "thinking_budget": 500},
            "at least 1024",
        ),
        ({"provider": "openai_compatible", "model": "llama3.2"}, "set base_url"),
        ({"base_url": "localhost:11434"}, "http://"),
        ({"name": "   "}, "must not be blank"),
        ({"api_key": "sk-x"}, "Extra inputs are not permitted"),
    ],
)
def test_bot_config_refuses_with_a_clear_message(data, message):
    with pytest.raises(ConfigError, match=message):
        validated(BotConfig, data)


def test_valid_provider_specific_configs():
    claude = BotConfig(
        provider="anthropic",
        model="claude-opus-5-5",
        effort="high",
        thinking_budget=2048,
        max_tokens=4096,
    )
    assert claude.temperature is None
    o3 = BotConfig(provider="openai", model="o3", effort="low")
    assert o3.effort == "low"
    local = BotConfig(provider="openai_compatible", model="qwen", base_url=" http://h:8000/v1 ")
    assert local.base_url == "http://h:8000/v1"


def test_run_config_loads_json_and_yaml(tmp_path):
    data = {"topic": " Cats ", "stop_phrases": "bye\n\n  goodbye ", "bots": [{}, {"name": "B"}]}
    j = tmp_path / "c.json"
    j.write_text(json.dumps(data))
    y = tmp_path / "c.yaml"
    y.write_text("topic: Cats\nstop_phrases: [bye, goodbye]\nbots: [{}, {name: B}]\n")
    a, b = RunConfig.from_file(j), RunConfig.from_file(y)
    assert a == b and a.topic == "Cats" and a.stop_phrases == ["bye", "goodbye"]
    assert RunConfig.from_text(a.dump_json()) == a  # what the UI saves loads back


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"topic": "x", "bots": [{}]}, "bots: List should have at least 2 items"),
        ({"topic": "  ", "bots": [{}, {}]}, "give the bots a topic"),
        ({"topic": "x", "bots": [{}, {}], "max_turns": 0}, "max_turns"),
        ({"topic": "x", "bots": [{}, {}], "first_speaker": 2}, "first_speaker"),
    ],
)
def test_run_config_errors(data, message):
    with pytest.raises(ConfigError, match=message):
        validated(RunConfig, data)


def test_cost_per_turn():
    assert catalog.cost_usd("gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(0.75)
    assert catalog.cost_usd("gpt-4o-mini-2024-07-18", 1000, 0) == pytest.approx(0.00015)
    assert catalog.cost_usd("claude-haiku-4-5-20251001", 0, 1000) == pytest.approx(0.005)
    assert catalog.cost_usd("some-local-model", 10, 10) is None
    assert catalog.cost_usd("gpt-4o", None, 10) is None


def test_price_file_extends_the_table(tmp_path):
    f = tmp_path / "prices.json"
    f.write_text(json.dumps({"llama3.2": [0.1, 0.2], "gpt-4o": [1, 1]}))
    table = catalog.load_prices(f)
    assert catalog.cost_usd("llama3.2", 1_000_000, 1_000_000, table) == pytest.approx(0.3)
    assert catalog.cost_usd("gpt-4o", 1_000_000, 0, table) == pytest.approx(1.0)
    assert catalog.cost_usd("gpt-4o", 1_000_000, 0) == pytest.approx(2.5)


def test_keys_from_environment_or_secrets_file(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "from-env")
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('OPENAI_API_KEY = "from-file"\nANTHROPIC_API_KEY = "file-loses"\n')
    s = load_settings(secrets)
    assert s.api_key("openai") == "from-file" and s.api_key("anthropic") == "from-env"
    assert "from-file" not in repr(s)  # keys are SecretStr
    monkeypatch.setenv("DUET_MAX_TURNS", "7")
    assert load_settings(tmp_path / "none.toml").max_turns == 7
