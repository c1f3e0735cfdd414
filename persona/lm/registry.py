"""Backends by model string: every LM is a ``dspy.LM`` routed through litellm, the embedded one included."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any, NamedTuple

import dspy
import litellm

from persona.lm import llama, local
from persona.lm.config import ModelConfig
from persona.lm.retry import backoff_delay, is_transient, retry_after
from persona.lm.secrets import secret_values

logger = logging.getLogger(__name__)

_current_role: ContextVar[str | None] = ContextVar("persona_lm_role", default=None)

# Examples for `persona models`; any provider litellm knows works the same way.
REMOTE_EXAMPLES: tuple[tuple[str, str | None, str], ...] = (
    ("openai/gpt-4o", "OPENAI_API_KEY", "OpenAI API"),
    ("anthropic/claude-sonnet-4-5", "ANTHROPIC_API_KEY", "Anthropic API"),
    ("ollama_chat/llama3.1", None, "Ollama server; set api_base (default http://localhost:11434)"),
    ("hosted_vllm/<served-model>", None, "vLLM OpenAI-compatible server; set api_base"),
)


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


def make_lm(config: ModelConfig | str, role: str | None = None, call_args: dict[str, Any] | None = None) -> RoleLM:
    """Build the DSPy LM for a backend, always through litellm (the embedded model is a litellm provider).

    ``call_args``: ``config.call_args()`` when the caller resolved them already, so a key command runs once.
    """
    if isinstance(config, str):
        config = ModelConfig(model=config)
    if config.model.startswith(f"{local.PROVIDER}/"):
        llama.register(config.model)
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
    return RoleLM(
        config.model,
        role=role,
        retries=config.num_retries,
        max_concurrency=config.max_concurrency,
        engine="litellm",
        temperature=config.temperature,
        max_tokens=config.max_tokens,
        **(config.call_args() if call_args is None else call_args),
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
