"""Backends by model string: every LM is a ``dspy.LM`` routed through litellm, the embedded one included."""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import itertools
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any, NamedTuple

import dspy
import litellm
from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator, model_validator

from persona.errors import InputError
from persona.lm import local
from persona.lm.retry import backoff_delay, is_transient, retry_after
from persona.lm.secrets import SecretError, redact_arguments, resolve_key, secret_values

logger = logging.getLogger(__name__)

_current_role: ContextVar[str | None] = ContextVar("persona_lm_role", default=None)

# Examples for `persona models`; any provider litellm knows works the same way.
REMOTE_EXAMPLES: tuple[tuple[str, str | None, str], ...] = (
    ("openai/gpt-4o", "OPENAI_API_KEY", "OpenAI API"),
    ("anthropic/claude-sonnet-4-5", "ANTHROPIC_API_KEY", "Anthropic API"),
    ("ollama_chat/llama3.1", None, "Ollama server; set api_base (default http://localhost:11434)"),
    ("hosted_vllm/<served-model>", None, "vLLM OpenAI-compatible server; set api_base"),
)


class ModelStringError(InputError):
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


LOCAL_REPEAT_PENALTY = {"presence_penalty": 1.0, "frequency_penalty": 0.5}


class FailureCount:
    """Calls of an LM that ended in an error, shared by its copies: optimizers deep-copy programs, LMs included."""

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def add(self) -> None:
        with self._lock:
            self.value += 1

    def __copy__(self) -> FailureCount:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FailureCount:
        return self


class RoleLM(dspy.LM):
    """A ``dspy.LM`` for one run role: tags its calls with the role, bounds how many are in flight, and re-sends
    transient failures with backoff (DSPy's own retry loop is off, so attempts are counted and jittered here).

    An exception that ends the call carries ``attempts``: how many times the request was sent.
    """

    def __init__(
        self,
        model: str,
        *,
        role: str | None = None,
        retries: int = 3,
        max_concurrency: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(model, num_retries=0, **kwargs)
        self.role = role
        self.retries = retries
        self.failures = FailureCount()
        self.max_concurrency = max_concurrency
        self._slots = threading.BoundedSemaphore(max_concurrency) if max_concurrency else None

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_slots", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._slots = threading.BoundedSemaphore(self.max_concurrency) if self.max_concurrency else None

    def _retry_delay(self, attempt: int, exc: Exception) -> float | None:
        """Seconds to wait before re-sending, or None when ``exc`` must end the call (stamped with attempts)."""
        if attempt >= self.retries or not is_transient(exc):
            exc.attempts = attempt + 1  # type: ignore[attr-defined]
            self.failures.add()
            return None
        delay = backoff_delay(attempt, retry_after(exc))
        logger.warning("%s (%s): %s; retry %d in %.2fs", self.model, self.role, type(exc).__name__, attempt + 1, delay)
        return delay

    def _with_retries(self, send: Callable[[], Any]) -> Any:
        for attempt in itertools.count():
            try:
                with self._slots or contextlib.nullcontext():
                    return send()
            except Exception as exc:
                if (delay := self._retry_delay(attempt, exc)) is None:
                    raise
                time.sleep(delay)
        raise AssertionError("unreachable")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with role_scope(self.role):
            return self._with_retries(lambda: super(RoleLM, self).__call__(*args, **kwargs))

    async def acall(self, *args: Any, **kwargs: Any) -> Any:
        # Same contract as __call__; the in-flight bound is a thread semaphore, so async callers bound themselves.
        with role_scope(self.role):
            for attempt in itertools.count():
                try:
                    return await super().acall(*args, **kwargs)
                except Exception as exc:
                    if (delay := self._retry_delay(attempt, exc)) is None:
                        raise
                    await asyncio.sleep(delay)
        raise AssertionError("unreachable")


def make_lm(config: ModelConfig | str, role: str | None = None) -> RoleLM:
    """Build the DSPy LM for a backend, always through litellm (the embedded model is a litellm provider)."""
    if isinstance(config, str):
        config = ModelConfig(model=config)
    if config.model.startswith(f"{local.PROVIDER}/"):
        local.register(config.model)
    elif config.response_schema is not None:
        litellm.register_model(
            {
                config.model: {
                    "litellm_provider": config.model.partition("/")[0],
                    "mode": "chat",
                    "supports_response_schema": config.response_schema,
                }
            }
        )
    kwargs: dict[str, Any] = {**config.extra}
    if config.api_base:
        kwargs["api_base"] = config.api_base
    if config.timeout:
        kwargs["timeout"] = config.timeout
    try:
        key = resolve_key(config.api_key_env, config.api_key_command)
    except SecretError as exc:
        raise ModelStringError(f"{config.model}: {exc}") from None
    if key:
        kwargs["api_key"] = key
    return RoleLM(
        config.model,
        role=role,
        retries=config.num_retries,
        max_concurrency=config.max_concurrency,
        engine="litellm",
        temperature=config.temperature,
        max_tokens=config.max_tokens,
        **kwargs,
    )


def lm_secrets(lms: Iterable[dspy.LM]) -> list[str]:
    """Every credential these LMs send (API keys, credential headers), to scrub from logs and error messages."""
    return [secret for lm in lms for secret in secret_values(lm.kwargs)]


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
