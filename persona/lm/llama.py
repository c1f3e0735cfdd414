"""The embedded llama.cpp provider: GGUF models run in-process, exposed to litellm as provider ``local`` with
JSON-schema constrained decoding.
"""

from __future__ import annotations

import asyncio
import atexit
import copy
import json
import logging
import threading
import time
import uuid
from pathlib import Path
from typing import Any, cast

import litellm
from litellm import CustomLLM
from litellm.types.utils import ModelResponse
from pydantic import BaseModel

from persona.lm.local import DEFAULT_MODEL, PROVIDER, local_threads, resolve_model_path

logger = logging.getLogger(__name__)

N_CTX = 4096
# SmolLM2's tokenizer averages about four characters a token on English prose; capping free text at three
# characters a token leaves room for the closing quotes and brace in nearly every case.
CHARS_PER_TOKEN = 3
CLOSING_MARGIN = 4
LIST_ITEM_CHARS = 40  # an item of a list output: a name or a phrase, not prose
LIST_ITEM_OVERHEAD = 4  # quotes, comma and space around each item


class OutputBudgetError(litellm.exceptions.BadRequestError):
    """Structured output that cannot fit in ``max_tokens``: deterministic, so a request error, never retried."""

    def __init__(self, message: str) -> None:
        super().__init__(message=message, model=DEFAULT_MODEL, llm_provider=PROVIDER)


class _LoadedModel:
    """One llama.cpp model and the lock that serialises calls into it (its context is not thread-safe)."""

    def __init__(self, path: Path) -> None:
        from llama_cpp import Llama

        self.lock = threading.Lock()
        threads = local_threads()  # for generation and for prompt processing alike (llama.cpp's default: every core)
        self.llama = Llama(model_path=str(path), n_ctx=N_CTX, n_threads=threads, n_threads_batch=threads, verbose=False)


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


def _skeleton_value(prop: dict[str, Any]) -> str:
    """The longest text the grammar allows for a field whose length does not depend on the model's prose."""
    if "enum" in prop or "const" in prop:
        options = prop.get("enum", [prop.get("const")])
        return max((json.dumps(option) for option in options), key=len)
    kind = prop.get("type")
    if kind == "string":
        return '""'
    if kind == "boolean":
        return "false"
    if kind in ("integer", "number"):
        return "-" + "1" * 16  # llama.cpp's grammar caps integral parts at 16 digits
    return "null"


def _is_free_text(prop: Any) -> bool:
    return isinstance(prop, dict) and prop.get("type") == "string" and "enum" not in prop and "maxLength" not in prop


def _string_fields(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [prop for prop in schema.get("properties", {}).values() if _is_free_text(prop)]


def _list_fields(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Lists of free text (``list[str]`` outputs): as open-ended as a string, so they share the budget."""
    return [
        prop
        for prop in schema.get("properties", {}).values()
        if isinstance(prop, dict)
        and prop.get("type") == "array"
        and "maxItems" not in prop
        and _is_free_text(prop.get("items"))
    ]


def skeleton(schema: dict[str, Any]) -> str:
    """The output's fixed parts (braces, keys, separators, booleans, enums, numbers) with every optional space."""
    fields = schema.get("properties", {}).items()
    return "{ " + " , ".join(f"{json.dumps(name)} : {_skeleton_value(prop)}" for name, prop in fields) + " }"


def bounded_schema(schema: dict[str, Any], max_tokens: int, fixed_tokens: int, chars_per_token: int) -> dict[str, Any]:
    """Cap free-text fields so that grammar-constrained JSON can close within ``max_tokens``.

    Without a cap, a model that rambles hits the token limit mid-string and the output no longer parses.
    """
    schema = copy.deepcopy(schema)
    strings, lists = _string_fields(schema), _list_fields(schema)
    free = len(strings) + len(lists)
    budget = max_tokens - fixed_tokens - CLOSING_MARGIN
    if budget < max(1, free):
        raise OutputBudgetError(
            f"max_tokens={max_tokens} is too small for this output schema: its fixed parts alone take "
            f"about {fixed_tokens} tokens"
        )
    share = budget * chars_per_token // max(free, 1)
    for prop in strings:
        prop["maxLength"] = share
    for prop in lists:
        # Each item costs its text plus quotes, comma and space; both caps together keep the list within its share.
        item = max(1, min(LIST_ITEM_CHARS, share // 2))
        prop["items"]["maxLength"] = item
        prop["maxItems"] = max(1, share // (item + LIST_ITEM_OVERHEAD))
    return schema


def json_schema_of(response_format: Any) -> dict[str, Any] | None:
    """The JSON schema an OpenAI-style ``response_format`` asks for; ``{}`` for schemaless JSON mode."""
    if response_format is None:
        return None
    if isinstance(response_format, type) and issubclass(response_format, BaseModel):  # as DSPy's JSONAdapter passes it
        return response_format.model_json_schema()
    kind = response_format.get("type")
    if kind == "json_schema":
        return response_format.get("json_schema", {}).get("schema", {})
    if kind == "json_object":
        return response_format.get("schema") or {}
    if kind == "text":
        return None
    raise ValueError(f"unsupported response_format type {kind!r} for the local provider")


def strict_json(text: str) -> str | None:
    """Re-serialise model JSON as strict JSON, or None when it does not parse.

    llama.cpp's JSON grammar lets raw control characters (newlines) into strings, which strict parsers reject;
    reading leniently and writing canonically keeps every value and makes the text valid JSON.
    """
    try:
        value = json.loads(text, strict=False)
    except json.JSONDecodeError:
        return None
    return json.dumps(value, ensure_ascii=False)


class LocalProvider(CustomLLM):
    """litellm custom provider running GGUF models in-process.

    JSON output is grammar-constrained with free-text fields capped to fit ``max_tokens``; should an answer still
    be cut off (the model spelled its text in more tokens than usual), it is drawn once more under a cap that
    assumes one token per character, and failing that the call raises. It never returns JSON that does not parse.
    ``invocations`` counts requests that reached the model (a redraw under the stricter cap is part of its
    request), so tests and manifests can prove that a replay ran none.
    """

    def __init__(self) -> None:
        super().__init__()
        self.invocations = 0
        self._count_lock = threading.Lock()

    def completion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> ModelResponse:
        params = dict(kwargs.get("optional_params") or {})
        loaded = load_model(resolve_model_path(model))
        max_tokens = int(params.get("max_tokens") or params.get("max_completion_tokens") or 512)
        temperature = params.get("temperature")
        request: dict[str, Any] = {
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": 0.0 if temperature is None else float(temperature),
            # llama.cpp's sampler keeps its RNG between calls; a fixed seed makes each call depend only on itself.
            "seed": 0,
        }
        for name in ("top_p", "stop", "seed", "presence_penalty", "frequency_penalty"):
            if params.get(name) is not None:
                request[name] = params[name]
        schema = json_schema_of(params.get("response_format"))
        with self._count_lock:
            self.invocations += 1
        for attempt, bounded in enumerate(self._bounded_schemas(schema, max_tokens, loaded)):
            if attempt:
                # The model is free to spell text in more tokens than the tokenizer would; the retry's cap holds
                # whatever spelling it picks, since no character of ASCII text takes more than one token.
                logger.info("local JSON output overran max_tokens=%d; retrying under a strict cap", max_tokens)
            if bounded is not None:
                request["response_format"] = {"type": "json_object", **({"schema": bounded} if bounded else {})}
            with loaded.lock:
                # Reusing the previous call's KV prefix changes how the prompt is batched, which can flip
                # near-ties: each answer must depend on its own request only, not on what ran before it.
                loaded.llama.reset()
                raw = cast(dict[str, Any], loaded.llama.create_chat_completion(**request))  # not streamed
            choice = raw["choices"][0]
            content = choice["message"]["content"] or ""
            if schema is None:
                break
            if (normalised := strict_json(content)) is not None:
                content = normalised
                break
        else:
            raise OutputBudgetError(f"JSON output did not fit in max_tokens={max_tokens}; raise max_tokens")
        return ModelResponse(
            id=f"local-{uuid.uuid4().hex[:12]}",
            created=int(time.time()),
            model=model,
            object="chat.completion",
            choices=[
                {
                    "index": 0,
                    "finish_reason": choice.get("finish_reason") or "stop",
                    "message": {"role": "assistant", "content": content},
                }
            ],
            usage=raw.get("usage"),
        )

    @staticmethod
    def _bounded_schemas(
        schema: dict[str, Any] | None, max_tokens: int, loaded: _LoadedModel
    ) -> list[dict[str, Any] | None]:
        """The output schema for each attempt: first a typical cap, then (for free text) a worst-case one."""
        if schema is None:
            return [None]
        if not schema:
            return [{}]
        fixed = skeleton(schema)
        with loaded.lock:
            typical = len(loaded.llama.tokenize(fixed.encode(), add_bos=False))
        attempts: list[dict[str, Any] | None] = [bounded_schema(schema, max_tokens, typical, CHARS_PER_TOKEN)]
        strings = len(_string_fields(schema)) + len(_list_fields(schema))
        if strings and max_tokens - len(fixed) - CLOSING_MARGIN >= strings:
            attempts.append(bounded_schema(schema, max_tokens, len(fixed), 1))
        return attempts

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
