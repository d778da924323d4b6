"""The root settings: TOML file < ``.env`` < environment (``TAGCAST_`` + key path joined by ``__``)."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from pydantic import Field, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from scheduler.config.alerts import AlertsSettings
from scheduler.config.models import (
    ChannelSettings,
    DefaultsSettings,
    HashtagSettings,
    MediaSettings,
    RenderSettings,
    RuleSettings,
    ScheduleSettings,
    ServiceSettings,
    SourceSettings,
    StoreSettings,
)
from scheduler.config.names import ChannelName, ScheduleName

CONFIG_VERSION = 1
_toml_data: ContextVar[dict[str, Any] | None] = ContextVar("tagcast_toml_data", default=None)


class _TomlDataSource(PydanticBaseSettingsSource):
    """Values already read from ``config/tagcast.toml`` (the loader reads the text once, for line numbers
    too)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return (_toml_data.get() or {}).get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_toml_data.get() or {})


def _json_or_text(decode: Callable[[], Any], value: Any) -> Any:
    """A list or table from the environment is JSON; anything else stays text, so that validation reports it
    at its key, naming the variable (pydantic-settings would raise SettingsError, naming neither)."""
    try:
        return decode()
    except (ValueError, RecursionError):
        return value


class _EnvSource(EnvSettingsSource):
    def decode_complex_value(self, field_name: str, field: FieldInfo, value: Any) -> Any:
        return _json_or_text(
            lambda: super(_EnvSource, self).decode_complex_value(field_name, field, value), value
        )


class _DotEnvSource(DotEnvSettingsSource):
    def decode_complex_value(self, field_name: str, field: FieldInfo, value: Any) -> Any:
        return _json_or_text(
            lambda: super(_DotEnvSource, self).decode_complex_value(field_name, field, value), value
        )


class Settings(BaseSettings):
    """Everything in ``config/tagcast.toml``. See ``tagcast config schema`` for the JSON Schema."""

    model_config = SettingsConfigDict(
        env_prefix="TAGCAST_",
        env_nested_delimiter="__",
        env_file_encoding="utf-8",
        dotenv_filtering="match_prefix",  # .env may hold other programs' variables; TAGCAST_* are checked
        extra="forbid",
        case_sensitive=False,
        validate_default=True,
    )

    version: int = Field(CONFIG_VERSION, description="Config format version.")
    store: StoreSettings = Field(default_factory=StoreSettings)  # type: ignore[arg-type]
    defaults: DefaultsSettings = Field(default_factory=DefaultsSettings)  # type: ignore[arg-type]
    hashtags: HashtagSettings = Field(default_factory=HashtagSettings)
    service: ServiceSettings = Field(default_factory=ServiceSettings)  # type: ignore[arg-type]
    render: RenderSettings = Field(default_factory=RenderSettings)  # type: ignore[arg-type]
    schedules: dict[ScheduleName, ScheduleSettings] = Field(default_factory=dict)
    channels: dict[ChannelName, ChannelSettings] = Field(default_factory=dict)
    rules: list[RuleSettings] = Field(default_factory=list)
    alerts: AlertsSettings = Field(default_factory=AlertsSettings)  # type: ignore[arg-type]
    sources: dict[str, SourceSettings] = Field(default_factory=dict)
    media: MediaSettings = Field(default_factory=MediaSettings)  # type: ignore[arg-type]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        env_file = getattr(dotenv_settings, "env_file", None)
        return (
            init_settings,
            _EnvSource(settings_cls),
            _DotEnvSource(settings_cls, env_file=env_file),
            _TomlDataSource(settings_cls),
        )

    @model_validator(mode="after")
    def _builtin_defaults(self) -> Settings:
        if self.defaults.schedule not in self.schedules:
            self.schedules[self.defaults.schedule] = ScheduleSettings(timezone=self.defaults.timezone)  # type: ignore[call-arg]
        if not self.channels:
            self.channels["file"] = ChannelSettings(network="file")  # type: ignore[call-arg]
        if "channels" not in self.defaults.model_fields_set:
            # A key the user did not write never makes a config invalid: the implicit default rule keeps
            # only the channels that exist (a config without [channels.file] simply has no default rule).
            kept = [name for name in self.defaults.channels if name in self.channels]
            object.__setattr__(self.defaults, "channels", kept)
        return self

    @model_validator(mode="after")
    def _check_version(self) -> Settings:
        if self.version > CONFIG_VERSION:
            raise ValueError(
                f"config version {self.version} is newer than this tagcast understands ({CONFIG_VERSION}); "
                "upgrade tagcast"
            )
        return self


def build_settings(toml_data: dict[str, Any], env_file: str | None) -> Settings:
    """Validate ``toml_data`` merged with ``.env`` and the environment (raises pydantic's ValidationError)."""
    token = _toml_data.set(toml_data)
    try:
        return Settings(_env_file=env_file)  # type: ignore[call-arg]
    finally:
        _toml_data.reset(token)
