"""Process settings from the environment (and `.streamlit/secrets.toml` for API keys)."""

from __future__ import annotations

import os
import tomllib
from functools import cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRETS_FILE = Path(".streamlit/secrets.toml")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DUET_", extra="ignore")

    database_url: str = "sqlite:///data/duet.db"
    dev_mode: bool = False
    auth_file: Path = Path(".streamlit/auth.yaml")
    max_turns: int = Field(50, ge=1)
    runs_per_minute: int = Field(10, ge=1)
    max_active_runs: int = Field(8, ge=1)
    log_level: str = "INFO"
    prices_file: Path | None = None
    demo_tokens_per_second: float = Field(40.0, ge=0)  # 0: as fast as possible
    request_timeout: float = Field(60.0, gt=0)  # seconds; also the stall (read) timeout
    max_retries: int = Field(2, ge=0)

    openai_api_key: SecretStr | None = Field(None, validation_alias="OPENAI_API_KEY")
    anthropic_api_key: SecretStr | None = Field(None, validation_alias="ANTHROPIC_API_KEY")
    openai_base_url: str | None = Field(None, validation_alias="OPENAI_BASE_URL")
    anthropic_base_url: str | None = Field(None, validation_alias="ANTHROPIC_BASE_URL")
    compatible_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("DUET_COMPATIBLE_API_KEY", "OPENAI_COMPATIBLE_API_KEY")
    )

    def api_key(self, provider: str) -> str | None:
        secret = {
            "openai": self.openai_api_key,
            "anthropic": self.anthropic_api_key,
            "openai_compatible": self.compatible_api_key,
        }.get(provider)
        if secret is None:
            return None
        value = secret.get_secret_value().strip()
        return value or None


def _secrets_file_keys(path: Path) -> dict[str, str]:
    """API keys from a Streamlit secrets file, read without importing Streamlit."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    names = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL")
    return {k: str(data[k]) for k in names if isinstance(data.get(k), str)}


def load_settings(secrets_file: Path = SECRETS_FILE) -> Settings:
    """Settings from the environment; keys missing there are taken from the secrets file."""
    extra = {k: v for k, v in _secrets_file_keys(secrets_file).items() if not os.environ.get(k)}
    return Settings(**extra)


@cache
def settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
