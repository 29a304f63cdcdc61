"""BotConfig/RunConfig validation, the model catalog, prices and settings."""

from __future__ import annotations

import json
import typing

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
        ("openai", "o3", False, ("low", "medium", "high")),  # no "none": o3 always reasons
        ("openai", "gpt-5.5", False, catalog.OPENAI_EFFORTS),
        ("openai", "gpt-5", False, ("minimal", "low", "medium", "high")),
        ("openai", "gpt-5.6-sol", False, ("none", "low", "medium", "high", "xhigh")),
        ("openai", "gpt-5-chat-latest", True, ()),
        # gpt-5.1+ chat variants reason at a fixed effort and refuse sampling
        ("openai", "gpt-5.1-chat-latest", False, ("medium",)),
        ("openai", "gpt-5.2-chat-latest", False, ("medium",)),
        ("openai", "gpt-5.3-chat-latest", False, ("medium",)),
        ("openai", "gpt-4o-search-preview", False, ()),
        ("anthropic", "claude-opus-5-5", False, catalog.ANTHROPIC_EFFORTS),
        ("anthropic", "claude-opus-4-5", False, ("low", "medium", "high", "max")),
        ("anthropic", "claude-haiku-4-5", False, ()),
        ("openai_compatible", "llama3.2", True, ()),
        ("demo", "duet-demo", True, ()),
        ("local", "SmolLM2-135M-Instruct", True, ()),
    ],
)
def test_knobs_follow_provider_and_model(provider, model, temperature, efforts):
    k = catalog.knobs(provider, model)
    assert k.temperature is temperature and k.effort == efforts
    if not temperature:
        assert k.reason


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_every_sdk_model_id_has_a_profile_row(provider):
    ids = catalog.known_models(provider)
    assert len(ids) > 20
    unmatched = [m for m in ids if not catalog.profile(provider, m).pattern]
    assert unmatched == []
    for model in ids:
        p = catalog.profile(provider, model)
        assert p.context_window >= 4_096
        assert set(p.effort) <= set(typing.get_args(catalog.Effort))
        if provider == "anthropic":
            assert not p.temperature and not p.top_p  # the current API takes no sampling
        if p.temperature:
            assert "none" not in p.effort or not p.effort


def test_snapshots_share_their_familys_profile():
    assert catalog.profile("openai", "o3-2025-04-16") == catalog.profile("openai", "o3")
    assert catalog.profile("openai", "gpt-5.2-2025-12-11").effort == catalog.OPENAI_EFFORTS
    assert catalog.context_window("openai", "gpt-4.1-nano-2025-04-14") == 1_047_576
    assert catalog.context_window("openai", "gpt-3.5-turbo-0613") == 4_096


def test_an_unknown_id_gets_its_providers_fallback():
    assert catalog.profile("openai", "my-fine-tune").temperature
    assert catalog.profile("openai", "my-fine-tune").pattern == ""
    assert catalog.profile("anthropic", "claude-next").effort
    assert catalog.context_window("openai_compatible", "anything") == 8_000


def test_provider_specs_are_the_one_table():
    assert set(catalog.PROVIDER_SPECS) == set(catalog.PROVIDERS)
    assert catalog.KEY_ENV == {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
    for name, spec in catalog.PROVIDER_SPECS.items():
        default = catalog.DEFAULT_MODELS[name]
        assert spec.default_model == default
        known = catalog.known_models(name)
        assert not known or default in known


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
        ({"provider": "openai", "model": "o3", "effort": "none"}, "low, medium, high$"),
        (
            {"provider": "openai", "model": "gpt-5.2-chat-latest", "temperature": 0.5},
            "does not take temperature",
        ),
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


def test_cost_per_turn_from_genai_prices():
    # USD per million tokens in genai-prices 0.2.3's data
    assert catalog.cost_usd("gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(0.75)
    assert catalog.cost_usd("gpt-4o-mini-2024-07-18", 1000, 0) == pytest.approx(0.00015)
    assert catalog.cost_usd("gpt-5.5", 1_000_000, 1_000_000, provider="openai") == 55.0
    assert catalog.cost_usd("claude-sonnet-5-5", 1_000_000, 0) == pytest.approx(2.0)
    assert catalog.cost_usd("claude-haiku-4-5-20251001", 0, 1000) == pytest.approx(0.005)
    assert catalog.cost_usd("some-local-model", 10, 10) is None
    assert catalog.cost_usd("gpt-4o", None, 10) is None
    assert catalog.cost_usd("duet-demo", 100, 100) == 0.0
    # a self-hosted model that shares a hosted model's name is not billed
    assert catalog.cost_usd("gpt-4o", 10, 10, provider="openai_compatible") is None


def test_price_file_overrides_genai_prices(tmp_path):
    f = tmp_path / "prices.json"
    f.write_text(json.dumps({"llama3.2": [0.1, 0.2], "gpt-4o": [1, 1]}))
    table = catalog.load_prices(f)
    assert catalog.cost_usd("llama3.2", 1_000_000, 1_000_000, table) == pytest.approx(0.3)
    assert catalog.cost_usd("gpt-4o", 1_000_000, 0, table) == pytest.approx(1.0)
    assert catalog.cost_usd("gpt-4o", 1_000_000, 0) == pytest.approx(2.5)
    assert catalog.cost_usd("duet-demo", 10, 10, table) == 0.0


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
