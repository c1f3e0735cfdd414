"""Backends by model string: every LM is a ``dspy.LM`` routed through litellm, the embedded one included."""

from __future__ import annotations

import contextlib
import difflib
import os
import re
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any, NamedTuple

import dspy
import litellm
from pydantic import BaseModel, ConfigDict, Field, field_validator

from persona.lm import local

_current_role: ContextVar[str | None] = ContextVar("persona_lm_role", default=None)

# Examples for `persona models`; any provider litellm knows works the same way.
REMOTE_EXAMPLES: tuple[tuple[str, str | None, str], ...] = (
    ("openai/gpt-4o", "OPENAI_API_KEY", "OpenAI API"),
    ("anthropic/claude-sonnet-4-5", "ANTHROPIC_API_KEY", "Anthropic API"),
    ("ollama_chat/llama3.1", None, "Ollama server; set api_base (default http://localhost:11434)"),
    ("hosted_vllm/<served-model>", None, "vLLM OpenAI-compatible server; set api_base"),
)


class ModelStringError(ValueError):
    """A model string whose provider neither litellm nor we know."""


def current_role() -> str | None:
    """The run role (generator, judge, ...) of the LM call being made in this context, if any."""
    return _current_role.get()


@contextlib.contextmanager
def role_scope(role: str | None) -> Iterator[None]:
    token = _current_role.set(role)
    try:
        yield
    finally:
        _current_role.reset(token)


def known_providers() -> list[str]:
    return sorted({str(getattr(p, "value", p)) for p in litellm.provider_list} | {local.PROVIDER})


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


class ModelConfig(BaseModel):
    """One backend for one role. Keys never live here: ``api_key_env`` names the variable that holds one."""

    model_config = ConfigDict(extra="forbid")

    model: str = local.DEFAULT_MODEL
    api_base: str | None = None
    api_key_env: str | None = Field(default=None, description="environment variable holding the API key")
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=256, gt=0)
    num_retries: int = Field(default=3, ge=0)
    extra: dict[str, Any] = Field(default_factory=dict, description="further litellm arguments, e.g. top_p")

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

    def lm_args(self) -> dict[str, Any]:
        """The arguments that shape outputs, safe to record in manifests (no credentials)."""
        args = {"temperature": self.temperature, "max_tokens": self.max_tokens, **self.extra}
        if self.api_base:
            args["api_base"] = self.api_base
        return args


class RoleLM(dspy.LM):
    """A ``dspy.LM`` that tags its calls with a run role, so the cache can count calls per role."""

    def __init__(self, model: str, *, role: str | None = None, **kwargs: Any) -> None:
        super().__init__(model, **kwargs)
        self.role = role

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with role_scope(self.role):
            return super().__call__(*args, **kwargs)

    async def acall(self, *args: Any, **kwargs: Any) -> Any:
        with role_scope(self.role):
            return await super().acall(*args, **kwargs)


def make_lm(config: ModelConfig | str, role: str | None = None) -> RoleLM:
    """Build the DSPy LM for a backend, always through litellm (the embedded model is a litellm provider)."""
    if isinstance(config, str):
        config = ModelConfig(model=config)
    if config.model.startswith(f"{local.PROVIDER}/"):
        local.register(config.model)
    kwargs: dict[str, Any] = {**config.extra}
    if config.api_base:
        kwargs["api_base"] = config.api_base
    if config.api_key_env:
        key = os.environ.get(config.api_key_env)
        if not key:
            raise ModelStringError(f"{config.model}: environment variable {config.api_key_env} is not set")
        kwargs["api_key"] = key
    return RoleLM(
        config.model,
        role=role,
        engine="litellm",
        temperature=config.temperature,
        max_tokens=config.max_tokens,
        num_retries=config.num_retries,
        **kwargs,
    )


class Backend(NamedTuple):
    model: str
    available: bool
    detail: str


def list_backends() -> list[Backend]:
    """What `persona models` shows: the embedded models (present or not) and how remote ones are reached."""
    rows = []
    for name in local.EMBEDDED:
        path = local.embedded_path(name)
        detail = f"{path} ({path.stat().st_size / 2**20:.0f} MiB)" if path else "not installed"
        rows.append(Backend(f"{local.PROVIDER}/{name}", path is not None, detail))
    rows.append(Backend(f"{local.PROVIDER}/<path.gguf>", True, "any GGUF file on disk, run by llama.cpp"))
    for model, key_env, detail in REMOTE_EXAMPLES:
        ready = key_env is None or bool(os.environ.get(key_env))
        note = f"{detail}; {key_env} {'set' if ready else 'not set'}" if key_env else detail
        rows.append(Backend(model, ready, note))
    return rows
