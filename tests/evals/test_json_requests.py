"""How each request format asks for JSON (``Provider.open_json``), checked on the request the
real SDKs send to the fake server."""

from __future__ import annotations

import pytest

from duet_core.evals.verdict import reply_schema
from duet_core.models import BotConfig
from duet_core.providers.anthropic_format import AnthropicProvider
from duet_core.providers.openai_format import OpenAIChatProvider
from tests.evals.conftest import answer, verdict
from tests.providers.provider_fakes import API_KEY, DEADLINE, text_of

USER = [{"role": "user", "content": "Judge this."}]


def test_anthropic_keeps_effort_beside_the_format(fake):
    provider = AnthropicProvider(API_KEY, fake.url, DEADLINE, 0)
    bot = BotConfig(provider="anthropic", model="claude-opus-5", effort="low")
    fake.push(answer("anthropic", verdict(5)))
    assert text_of(provider.open_json("Be fair.", USER, bot, reply_schema())) == verdict(5)
    assert fake.last.body["output_config"] == {
        "effort": "low",
        "format": {"type": "json_schema", "schema": reply_schema()},
    }


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK warns about old models
@pytest.mark.parametrize(
    "model", ["claude-3-5-haiku-latest", "claude-sonnet-4-20250514", "claude-opus-4-0"]
)
def test_older_claude_models_get_the_prompt_alone(fake, model):
    provider = AnthropicProvider(API_KEY, fake.url, DEADLINE, 0)
    fake.push(answer("anthropic", verdict(5)))
    text_of(provider.open_json("Be fair.", USER, BotConfig(provider="anthropic", model=model), {}))
    assert "output_config" not in fake.last.body


def test_self_hosted_servers_get_the_schema_too(fake):
    provider = OpenAIChatProvider(API_KEY, f"{fake.url}/v1", DEADLINE, 0, compatible=True)
    bot = BotConfig(provider="openai_compatible", model="llama3.2", base_url=f"{fake.url}/v1")
    fake.push(answer("openai", verdict(5)))
    text_of(provider.open_json("", USER, bot, reply_schema(["a"])))
    assert fake.last.body["response_format"]["json_schema"]["schema"] == reply_schema(["a"])


def test_open_is_unchanged(fake):
    provider = OpenAIChatProvider(API_KEY, f"{fake.url}/v1", DEADLINE, 0)
    text_of(provider.open("", USER, BotConfig(provider="openai", model="gpt-4.1-mini")))
    assert "response_format" not in fake.last.body
