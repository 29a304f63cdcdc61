"""Choosing a provider, its key and base URL; caching SDK clients; availability hints."""

from __future__ import annotations

import pytest

from duet_core.errors import MissingKey
from duet_core.models import BotConfig
from duet_core.providers import make_provider, provider_available
from duet_core.providers.anthropic_format import AnthropicProvider
from duet_core.providers.openai_format import OpenAIChatProvider
from duet_core.settings import Settings
from tests.providers.provider_fakes import USER_ONLY, text_of

OPENAI = BotConfig(provider="openai", model="gpt-4.1-mini")
CLAUDE = BotConfig(provider="anthropic", model="claude-sonnet-5-5")


def local_bot(url: str) -> BotConfig:
    return BotConfig(provider="openai_compatible", model="llama3.2", base_url=url)


def test_demo_needs_no_key():
    from duet_core.providers.demo import DemoProvider

    provider = make_provider(BotConfig(), Settings(demo_tokens_per_second=0))
    assert isinstance(provider, DemoProvider)
    assert provider.tokens_per_second == 0


@pytest.mark.parametrize(
    ("bot", "env"), [(OPENAI, "OPENAI_API_KEY"), (CLAUDE, "ANTHROPIC_API_KEY")]
)
def test_a_missing_key_says_what_to_do(bot, env):
    with pytest.raises(MissingKey) as caught:
        make_provider(bot, Settings())
    assert str(caught.value) == (
        f"Set {env} (or paste a key in the sidebar) or pick another provider"
    )


def test_keys_from_settings_and_the_session():
    settings = Settings(OPENAI_API_KEY="sk-from-env", ANTHROPIC_API_KEY="sk-ant-env")
    assert make_provider(OPENAI, settings).client.api_key == "sk-from-env"
    assert make_provider(CLAUDE, settings).client.api_key == "sk-ant-env"
    pasted = make_provider(OPENAI, settings, {"openai": "sk-pasted"})
    assert pasted.client.api_key == "sk-pasted"  # the session's key wins
    assert make_provider(OPENAI, settings, {"openai": "  "}).client.api_key == "sk-from-env"


def test_classes_and_client_settings():
    settings = Settings(OPENAI_API_KEY="k", ANTHROPIC_API_KEY="k", request_timeout=7, max_retries=1)
    openai = make_provider(OPENAI, settings)
    claude = make_provider(CLAUDE, settings)
    assert isinstance(openai, OpenAIChatProvider) and openai.name == "openai"
    assert isinstance(claude, AnthropicProvider) and claude.name == "anthropic"
    for provider in (openai, claude):
        assert provider.client.max_retries == 1
        assert provider.client.timeout.read == 7


def test_clients_are_cached_per_provider_url_and_key():
    settings = Settings(OPENAI_API_KEY="sk-a")
    first = make_provider(OPENAI, settings)
    assert make_provider(OPENAI.model_copy(update={"name": "Other"}), settings) is first
    assert make_provider(OPENAI, settings, {"openai": "sk-b"}) is not first


def test_compatible_server_uses_the_bots_url_and_a_dummy_key(fake):
    bot = local_bot(f"{fake.url}/v1")
    provider = make_provider(bot, Settings())
    assert provider.name == "openai_compatible"
    assert text_of(provider.open("", USER_ONLY, bot)) == "Hello"
    assert fake.last.headers["authorization"] == "Bearer not-needed"
    keyed = make_provider(
        bot, Settings(DUET_COMPATIBLE_API_KEY="local-key", DUET_COMPATIBLE_BASE_URL=fake.url)
    )
    list(keyed.open("", USER_ONLY, bot))
    assert fake.last.headers["authorization"] == "Bearer local-key"


def test_the_compatible_key_goes_to_its_own_server_only(fake):
    # A shared setup file or an uploaded transcript may name any base_url: this server's key
    # must not follow it there. A key pasted for the session is the person's own choice.
    bot = local_bot(f"{fake.url}/v1")
    elsewhere = Settings(
        DUET_COMPATIBLE_API_KEY="local-key", DUET_COMPATIBLE_BASE_URL="http://10.0.0.7:11434/v1"
    )
    list(make_provider(bot, elsewhere).open("", USER_ONLY, bot))
    assert fake.last.headers["authorization"] == "Bearer not-needed"
    list(make_provider(bot, Settings(DUET_COMPATIBLE_API_KEY="local-key")).open("", USER_ONLY, bot))
    assert fake.last.headers["authorization"] == "Bearer not-needed"
    pasted = make_provider(bot, elsewhere, {"openai_compatible": "mine"})
    list(pasted.open("", USER_ONLY, bot))
    assert fake.last.headers["authorization"] == "Bearer mine"


def test_openai_base_url_comes_from_settings_never_from_the_bot(fake):
    # A shared config file must not be able to send this server's OpenAI key elsewhere.
    bot = OPENAI.model_copy(update={"base_url": "http://127.0.0.1:9/v1"})
    settings = Settings(OPENAI_API_KEY="sk-real", OPENAI_BASE_URL=f"{fake.url}/v1")
    provider = make_provider(bot, settings)
    assert text_of(provider.open("", USER_ONLY, bot)) == "Hello"
    assert fake.last.path == "/v1/chat/completions"


def test_the_sdk_reads_the_base_url_from_the_environment(fake, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
    settings = Settings(ANTHROPIC_API_KEY="sk-ant")
    assert settings.anthropic_base_url == fake.url
    assert text_of(make_provider(CLAUDE, settings).open("", USER_ONLY, CLAUDE)) == "Hello"
    assert fake.last.path == "/v1/messages"


def test_provider_available():
    settings = Settings(OPENAI_API_KEY="sk-a")
    assert provider_available("demo", settings) == (True, "")
    assert provider_available("openai", settings) == (True, "")
    assert provider_available("openai_compatible", settings) == (True, "")
    ok, hint = provider_available("anthropic", settings)
    assert not ok
    assert hint == "Set ANTHROPIC_API_KEY (or paste a key in the sidebar) or pick another provider"
    assert provider_available("anthropic", settings, {"anthropic": "sk-ant"}) == (True, "")
    ok, hint = provider_available("bard", settings)
    assert not ok and "bard" in hint
