"""Providers: one class per request format (see base.py for the streaming contract).

``make_provider`` picks the class for a bot from its provider's ``ProviderSpec`` (catalog.py)
and its API key; ``provider_available`` tells the UI whether a provider can be used now and, if
not, what to do about it. ``warm_up`` does at start-up what the first turn would otherwise pay
for (SDK imports, the provider event loop, the first request's code paths).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from duet_core import redact
from duet_core.catalog import KEY_ENV, PROVIDER_SPECS, PROVIDERS
from duet_core.errors import ConfigError, MissingKey
from duet_core.models import BotConfig
from duet_core.providers.base import Provider
from duet_core.settings import Settings

__all__ = [
    "KEY_ENV",
    "clear_client_cache",
    "make_provider",
    "offline_provider",
    "provider_available",
]

COMPATIBLE_DUMMY_KEY = "not-needed"  # most self-hosted servers ignore the key but the SDK needs one


def _pasted(provider: str, keys: Mapping[str, str] | None) -> str | None:
    pasted = (keys or {}).get(provider)
    return pasted.strip() if pasted and pasted.strip() else None


def _key(provider: str, settings: Settings, keys: Mapping[str, str] | None) -> str | None:
    """A key pasted for this session wins over the environment and secrets file."""
    return _pasted(provider, keys) or settings.api_key(provider)


def same_origin(url: str | None, other: str | None) -> bool:
    """Whether two URLs name the same server (scheme, host and port)."""
    if not url or not other:
        return False
    a, b = urlsplit(url.strip()), urlsplit(other.strip())
    try:
        return (a.scheme.lower(), a.hostname, a.port) == (b.scheme.lower(), b.hostname, b.port)
    except ValueError:  # a port that is not a number
        return False


def _missing_key_hint(provider: str) -> str:
    return f"Set {KEY_ENV[provider]} (or paste a key in the sidebar) or pick another provider"


def provider_available(
    provider: str, settings: Settings, keys: Mapping[str, str] | None = None
) -> tuple[bool, str]:
    """Whether ``provider`` can be used now, and a hint for the UI when it cannot."""
    spec = PROVIDER_SPECS.get(provider)
    if spec is None:
        return False, f"Unknown provider '{provider}': pick one of {', '.join(PROVIDERS)}"
    if spec.request_format == "local":
        from duet_core.providers.local import local_model_status

        return local_model_status(settings.local_model)
    if spec.key_required and not _key(provider, settings, keys):
        return False, _missing_key_hint(provider)
    return True, ""


def offline_provider(settings: Settings | None = None) -> str:
    """The provider of the default bots: ``local`` when the local model is installed and no
    API key is set, else the canned ``demo``. DUET_OFFLINE_PROVIDER=demo|local forces one (the
    test suite keeps the demo). Unreadable settings: the demo."""
    if settings is None:
        from duet_core.settings import load_settings

        try:
            settings = load_settings()
        except ConfigError:
            return "demo"
    if settings.offline_provider is not None:
        return settings.offline_provider
    if any(settings.api_key(p) for p in KEY_ENV):
        return "demo"
    return "local" if provider_available("local", settings)[0] else "demo"


def make_provider(
    bot: BotConfig, settings: Settings, keys: Mapping[str, str] | None = None
) -> Provider:
    """The provider for ``bot``. Raises MissingKey when it needs a key that is not set.

    SDK clients are cached per (provider, base URL, key, timeouts, retries): every turn of
    every run reuses one client, and with it the client's open connections.
    """
    spec = PROVIDER_SPECS.get(bot.provider)
    if spec is None:
        raise ConfigError(f"Unknown provider '{bot.provider}'")
    if spec.request_format == "demo":
        from duet_core.providers.demo import DemoProvider

        return DemoProvider(tokens_per_second=settings.demo_tokens_per_second)
    if spec.request_format == "local":
        from duet_core.providers.local import local_provider

        return local_provider(settings.local_model)
    key = _key(bot.provider, settings, keys)
    if spec.own_base_url:
        base_url = bot.base_url or settings.compatible_base_url
        if not _pasted(bot.provider, keys) and not same_origin(
            base_url, settings.compatible_base_url
        ):
            key = None  # this server's key goes to its own server only
        key = key or COMPATIBLE_DUMMY_KEY
    else:
        # The bot's own base_url is for self-hosted servers only: a shared config file must not
        # be able to send this server's OpenAI or Anthropic key elsewhere.
        base_url = (
            settings.openai_base_url if bot.provider == "openai" else settings.anthropic_base_url
        ) or None
        if not key:
            raise MissingKey(_missing_key_hint(bot.provider))
    return _cached(
        bot.provider,
        base_url,
        key,
        settings.request_timeout,
        settings.max_retries,
        settings.stall_timeout,
    )


def bind_keys(
    factory: Callable[[BotConfig, Mapping[str, str] | None], Provider],
    keys: Mapping[str, str] | None,
) -> Callable[[BotConfig], Provider]:
    """``factory`` with one person's pasted keys bound: the one place where such keys are
    registered with ``redact``, so they never come back in anything shown, logged or saved."""
    keys = dict(keys or {})
    redact.register_keys(keys)
    return lambda bot: factory(bot, keys)


class Providers:
    """Makes a bot's provider from the settings' keys, or from keys a person pasted for their
    session (registered with ``redact`` here, so they never come back in anything shown)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        redact.register_settings(settings)

    def __call__(self, bot: BotConfig, keys: Mapping[str, str] | None = None) -> Provider:
        return make_provider(bot, self.settings, dict(keys or {}))

    def with_keys(self, keys: Mapping[str, str] | None) -> Callable[[BotConfig], Provider]:
        """A provider factory for one person's pasted keys (the Lab, a run's thread)."""
        return bind_keys(self, keys)


@functools.lru_cache(maxsize=32)
def _cached(
    provider: str,
    base_url: str | None,
    key: str,
    timeout: float,
    max_retries: int,
    stall: float,
) -> Provider:
    if PROVIDER_SPECS[provider].request_format == "anthropic":
        from duet_core.providers.anthropic_format import AnthropicProvider

        return AnthropicProvider(key, base_url, timeout, max_retries, stall=stall)
    from duet_core.providers.openai_format import OpenAIChatProvider

    return OpenAIChatProvider(
        key,
        base_url,
        timeout,
        max_retries,
        compatible=PROVIDER_SPECS[provider].own_base_url,
        stall=stall,
    )


def clear_client_cache() -> None:
    """Forget cached SDK clients (tests; or after keys were rotated)."""
    _cached.cache_clear()
