"""A scripted litellm provider for fast tests: answers any JSON schema, records what it was sent."""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from typing import Any

import litellm
from litellm import CustomLLM
from litellm.types.utils import ModelResponse

from persona.lm.llama import OutputBudgetError

PROVIDER = "fake"
FAIL_MARKER = "FAIL-THIS-ITEM"
GARBLE_MARKER = "GARBLE-THE-JUDGE"  # requests carrying it get an unparseable answer wherever a judge verdict is asked
OVERRUN_MARKER = "OVERRUN-THE-JUDGE"  # ... or, wherever an attribute list is asked, a local model's budget overrun


def _schema(response_format: Any) -> dict[str, Any]:
    if response_format is None:
        return {}
    if isinstance(response_format, type):
        return response_format.model_json_schema()
    if response_format.get("type") == "json_schema":
        return response_format["json_schema"]["schema"]
    return response_format.get("schema") or {}


class FakeProvider(CustomLLM):
    """Fills every schema field with text derived from the request, so equal requests give equal answers.

    The text includes the endpoint and seed it was called with, so tests can see which server answered and
    whether draws differ. ``calls`` records each request that reached the provider.
    """

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def completion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> ModelResponse:
        params = kwargs.get("optional_params") or {}
        api_base = kwargs.get("api_base")
        text = json.dumps(messages)
        with self.lock:
            self.calls.append({"model": model, "messages": messages, "params": dict(params), "api_base": api_base})
        if FAIL_MARKER in text:
            raise litellm.exceptions.BadRequestError(f"refusing {FAIL_MARKER}", model=model, llm_provider=PROVIDER)
        digest = hashlib.sha256(f"{text}|{api_base}|{params.get('seed')}".encode()).hexdigest()[:8]
        schema = _schema(params.get("response_format"))
        content: dict[str, Any] = {}
        garble = GARBLE_MARKER in text and "needs_revision" in schema.get("properties", {})
        if OVERRUN_MARKER in text and "dropped" in schema.get("properties", {}):
            raise OutputBudgetError("JSON output did not fit in max_tokens=8; raise max_tokens")
        for name, prop in schema.get("properties", {}).items():
            if prop.get("type") == "array":
                content[name] = ["age", "invented"] if int(digest, 16) % 2 == 0 else []
            elif prop.get("type") == "boolean":
                content[name] = int(digest, 16) % 2 == 0
            elif prop.get("enum"):
                content[name] = prop["enum"][int(digest, 16) % len(prop["enum"])]
            else:
                content[name] = f"{name} {digest} from {api_base} seed {params.get('seed')}"
        answer = "no verdict here" if garble else json.dumps(content) if schema else f"text {digest} from {api_base}"
        # Usage in the rough 4-characters-per-token of English text, so it differs between requests.
        prompt_tokens, completion_tokens = len(text) // 4, len(answer) // 4
        return ModelResponse(
            id=f"fake-{uuid.uuid4().hex[:8]}",
            created=int(time.time()),
            model=model,
            choices=[{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": answer}}],
            usage={
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        )

    async def acompletion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> ModelResponse:
        return self.completion(model, messages, *args, **kwargs)


fake = FakeProvider()


def register() -> FakeProvider:
    """Register the fake provider with litellm once; returns it with its call log cleared."""
    if not any(item["provider"] == PROVIDER for item in litellm.custom_provider_map):
        litellm.custom_provider_map.append({"provider": PROVIDER, "custom_handler": fake})
        litellm.utils.custom_llm_setup()
        litellm.register_model(
            {
                f"{PROVIDER}/model": {
                    "litellm_provider": PROVIDER,
                    "mode": "chat",
                    "supports_response_schema": True,
                    "input_cost_per_token": 0.0,
                    "output_cost_per_token": 0.0,
                    "cache_creation_input_token_cost": 0.0,
                    "cache_read_input_token_cost": 0.0,
                }
            }
        )
    fake.calls.clear()
    return fake
