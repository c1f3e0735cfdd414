"""A backend's configuration, checked without loading it: model strings, credentials' sources, sampling.

Nothing here imports litellm or DSPy (seconds of startup): a spec is validated, fingerprinted and its finished run
replayed without them. The provider names a model string may use are read from litellm's own list of providers.
"""

from __future__ import annotations

import ast
import difflib
import functools
import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator, model_validator

from persona.errors import InputError
from persona.lm import local
from persona.lm.secrets import SecretError, redact_arguments, resolve_key


class ModelStringError(InputError):
    """A model string whose provider neither litellm nor we know."""


def known_providers() -> list[str]:
    """litellm's providers and ours. Once litellm is loaded its list is read (it includes providers registered at
    run time); before, the names are read from the source of its provider enum, which costs milliseconds where
    importing litellm costs seconds."""
    if "litellm" not in sys.modules and (names := _provider_enum_values()):
        return sorted(names | {local.PROVIDER})
    import litellm

    return sorted({str(getattr(p, "value", p)) for p in litellm.provider_list} | {local.PROVIDER})


@functools.cache
def _provider_enum_values() -> set[str]:
    """The values of ``litellm.types.utils.LlmProviders``, from its source; empty when it is not where expected."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or spec.origin is None:
        return set()
    source = Path(spec.origin).parent / "types" / "utils.py"
    if not source.is_file():
        return set()
    for node in ast.parse(source.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ClassDef) and node.name == "LlmProviders":
            return {
                statement.value.value
                for statement in node.body
                if isinstance(statement, ast.Assign)
                and isinstance(statement.value, ast.Constant)
                and isinstance(statement.value.value, str)
            }
    return set()


def validate_model_string(model: str) -> str:
    """Fail fast on a provider typo, naming the closest known providers."""
    provider, sep, name = model.partition("/")
    if not sep or not name:
        raise ModelStringError(f"model string {model!r} must look like 'provider/model', e.g. {local.DEFAULT_MODEL!r}")
    if provider == local.PROVIDER:
        local.resolve_model_path(model)
        return model
    providers = known_providers()
    if provider not in providers:
        close = difflib.get_close_matches(provider, providers, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ModelStringError(f"unknown provider {provider!r} in model string {model!r}{hint}")
    return model


OPERATIONAL_FIELDS = {"num_retries", "timeout", "max_concurrency", "rpm", "api_key_env", "api_key_command"}


class ModelConfig(BaseModel):
    """One backend for one role. Keys never live here: ``api_key_env`` names the variable that holds one."""

    model_config = ConfigDict(extra="forbid")

    model: str = local.DEFAULT_MODEL
    api_base: str | None = None
    api_key_env: str | None = Field(default=None, description="environment variable holding the API key")
    api_key_command: str | None = Field(
        default=None, description="command printing the API key, keyring-style (e.g. `pass show openai`)"
    )
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=256, gt=0)
    num_retries: int = Field(default=3, ge=0, description="re-sends on rate limits, 5xx, timeouts, resets")
    timeout: float | None = Field(default=None, gt=0, description="seconds before a request counts as timed out")
    max_concurrency: int | None = Field(default=None, gt=0, description="requests in flight for this role")
    rpm: float | None = Field(default=None, gt=0, description="requests per minute sent to the backend")
    response_schema: bool | None = Field(
        default=None,
        description="declare that the backend honours JSON-schema response_format (litellm cannot know this for "
        "self-hosted models); None keeps litellm's own answer",
    )
    extra: dict[str, Any] = Field(default_factory=dict, description="further litellm arguments, e.g. top_p")

    @model_validator(mode="after")
    def _one_key_source(self) -> ModelConfig:
        if self.api_key_env and self.api_key_command:
            raise ValueError("give api_key_env or api_key_command, not both")
        return self

    @field_validator("model")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        return validate_model_string(value)

    @field_validator("extra")
    @classmethod
    def _no_secrets(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if re.search(r"api_?key|secret|password|token$", key.lower()):
                raise ValueError(f"{key!r} looks like a credential: put its name in api_key_env instead")
        return value

    def identity(self) -> dict[str, Any]:
        """The fields that can change answers, for spec fingerprints: not credentials, retries or rate limits."""
        return self.model_dump(mode="json", exclude=OPERATIONAL_FIELDS)

    @field_serializer("extra")
    def _redacted(self, extra: dict[str, Any]) -> dict[str, Any]:
        # Headers such as Authorization reach the backend, never a manifest, spec dump or fingerprint.
        return redact_arguments(extra)

    def lm_args(self) -> dict[str, Any]:
        """The arguments that shape outputs, safe to record in manifests (credentials redacted)."""
        args = {"temperature": self.temperature, "max_tokens": self.max_tokens, **redact_arguments(self.extra)}
        if self.api_base:
            args["api_base"] = self.api_base
        return args

    def call_args(self) -> dict[str, Any]:
        """What every request to this backend carries besides sampling: endpoint, timeout, further litellm arguments
        and the key, resolved from its source here (a missing one is bad input, named by its source)."""
        args: dict[str, Any] = {**self.extra}
        if self.api_base:
            args["api_base"] = self.api_base
        if self.timeout:
            args["timeout"] = self.timeout
        try:
            key = resolve_key(self.api_key_env, self.api_key_command)
        except SecretError as exc:
            raise ModelStringError(f"{self.model}: {exc}") from None
        if key:
            args["api_key"] = key
        return args


LOCAL_REPEAT_PENALTY = {"presence_penalty": 1.0, "frequency_penalty": 0.5}
