"""Application settings: environment variables over the settings file over defaults.

Every field of :class:`Settings` is a key of the settings file and a ``COSCI_<FIELD>``
variable (``llm_temperature``: ``COSCI_LLM_TEMPERATURE``). The settings file is
``$COSCI_HOME/settings.yaml`` (``~/.cosci/settings.yaml`` by default). Library packages never read these themselves: the application shell builds
their objects from a :class:`Settings` and injects them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, SecretStr, field_validator

ENV_PREFIX = "COSCI_"
"""Every setting ``name`` is read from the variable ``COSCI_<NAME>`` (``env_names``)."""
_OTHER_ENV_NAMES: dict[str, tuple[str, ...]] = {
    "llm_api_key": ("OPENAI_API_KEY",),
    "llm_timeout_s": ("COSCI_LLM_TIMEOUT",),
}
"""Variables also read for a setting, after its COSCI_ name: the OpenAI SDK's own key
variable, and earlier names kept working."""


class SettingsError(Exception):
    """A settings file or variable that cannot be used."""

    user_facing = True


class Settings(BaseModel):
    """Everything the shell needs to build the LLM client, the memory and run folders."""

    home: Path = Field(default_factory=lambda: Path.home() / ".cosci")
    """Root of cosci's own files: model cache, memory store, settings file."""
    llm_base_url: str | None = None
    """OpenAI-compatible endpoint; None means the embedded local model."""
    llm_model: str | None = None
    """Model name sent to the endpoint (required with ``llm_base_url``)."""
    llm_api_key: SecretStr | None = None
    """API key for the endpoint; never logged or stored."""
    llm_threads: int = Field(default=1, ge=1, le=64)
    """Torch threads for the embedded model."""
    llm_four_bit: bool = True
    """Run the embedded model's 4-bit layers as 4-bit products (bfloat16 inputs, about
    twice as fast per token); ``false`` runs them in float32."""
    llm_timeout_s: float = Field(default=120.0, gt=0)
    """Per-request timeout for the endpoint."""
    llm_max_retries: int = Field(default=4, ge=0, le=20)
    """Retries on timeouts, 429 and 5xx."""
    llm_max_concurrency: int = Field(default=4, ge=1, le=64)
    """Requests of one batch (independent calls of one agent step) sent to the endpoint at
    the same time."""
    llm_structured_output: Literal["json_schema", "json_object", "prompt"] = "json_schema"
    """How the endpoint is asked for structured answers: ``json_schema`` (the default) steps
    down by itself to JSON mode or to the schema in the prompt when the server refuses or
    ignores it; ``json_object`` and ``prompt`` are used as they are."""
    llm_temperature: float | None = Field(default=0.0, ge=0, le=2)
    """Sampling temperature sent to the endpoint; None (``none`` in the variable) sends
    none, as reasoning models require."""
    llm_token_param: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    """The request field that caps an answer; reasoning models want max_completion_tokens."""
    llm_repair_tries: int | None = Field(default=None, ge=0, le=5)
    """Times an invalid structured answer is sent back to the model with the problem
    named, before the call fails; None keeps the client's own (1 embedded, 2 endpoint)."""
    chroma_url: str | None = None
    """chromadb server URL; None means a PersistentClient under ``home``."""

    @field_validator("llm_temperature", mode="before")
    @classmethod
    def _no_temperature(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in ("none", "null", "off"):
            return None
        return value

    @property
    def memory_path(self) -> Path:
        return self.home / "memory"

    @property
    def model_cache_path(self) -> Path:
        return self.home / "models"


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read settings: environment first, then ``$COSCI_HOME/settings.yaml``, then defaults."""
    env = dict(os.environ if environ is None else environ)
    home = Path(env.get("COSCI_HOME") or Path.home() / ".cosci").expanduser()
    values: dict[str, Any] = {}
    settings_file = home / "settings.yaml"
    if settings_file.is_file():
        try:
            loaded = yaml.safe_load(settings_file.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise SettingsError(f"cannot read {settings_file}: {exc}") from exc
        if not isinstance(loaded, dict):
            raise SettingsError(f"{settings_file} must hold a mapping of setting: value")
        unknown = sorted(set(loaded) - set(Settings.model_fields))
        if unknown:
            raise SettingsError(
                f"{settings_file}: unknown settings {unknown}; valid: {sorted(Settings.model_fields)}"
            )
        values.update(loaded)
    for field in Settings.model_fields:
        given = next((env[name] for name in env_names(field) if env.get(name)), None)
        if given is not None:
            values[field] = given
    values["home"] = home
    try:
        return Settings(**values)
    except ValueError as exc:
        raise SettingsError(f"invalid settings: {exc}") from exc


def env_names(field: str) -> tuple[str, ...]:
    """The variables that set ``field``, first one set wins: ``COSCI_<FIELD>``, then any
    other name it is known by."""
    return (f"{ENV_PREFIX}{field.upper()}", *_OTHER_ENV_NAMES.get(field, ()))
