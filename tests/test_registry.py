"""Backends by model string: fail fast on typos and missing files, never hold keys."""

import pytest

from persona.lm import LocalModelError, ModelConfig, ModelStringError, RoleLM, list_backends, make_lm
from persona.lm.llama import CLOSING_MARGIN, LIST_ITEM_OVERHEAD, bounded_schema
from persona.lm.local import resolve_model_path


def test_unknown_provider_names_the_closest_ones():
    with pytest.raises(ValueError, match=r"unknown provider 'opnai'.*'openai'"):
        ModelConfig(model="opnai/gpt-4o")


def test_model_string_needs_a_provider():
    with pytest.raises(ValueError, match="must look like 'provider/model'"):
        ModelConfig(model="gpt-4o")


def test_missing_gguf_lists_what_exists(tmp_path):
    (tmp_path / "other.gguf").write_bytes(b"x")
    with pytest.raises(LocalModelError, match=r"GGUF file not found: .*missing\.gguf.*other\.gguf"):
        resolve_model_path(f"local/{tmp_path}/missing.gguf")


def test_unknown_local_name_lists_embedded_models():
    with pytest.raises(ValueError, match=r"unknown local model 'gpt2'.*smollm2"):
        ModelConfig(model="local/gpt2")


def test_embedded_model_is_found_without_download():
    path = resolve_model_path("local/smollm2")
    assert path.suffix == ".gguf" and path.stat().st_size > 50 * 2**20


def test_credentials_are_refused_in_extra():
    with pytest.raises(ValueError, match="looks like a credential"):
        ModelConfig(model="openai/gpt-4o", extra={"api_key": "sk-123"})


def test_missing_key_variable_is_named(monkeypatch):
    monkeypatch.delenv("PERSONA_NOT_SET", raising=False)
    with pytest.raises(ModelStringError, match="PERSONA_NOT_SET is not set"):
        make_lm(ModelConfig(model="openai/gpt-4o", api_key_env="PERSONA_NOT_SET"))


def test_lm_routes_through_litellm_with_its_role():
    lm = make_lm(ModelConfig(model="openai/gpt-4o", temperature=0.3, max_tokens=99), role="judge")
    assert isinstance(lm, RoleLM) and lm.role == "judge"
    assert lm.engine == "litellm"
    assert lm.kwargs["temperature"] == 0.3 and lm.kwargs["max_tokens"] == 99


def test_manifest_args_hold_no_key(monkeypatch):
    monkeypatch.setenv("PERSONA_KEY", "sk-secret")
    config = ModelConfig(model="openai/gpt-4o", api_key_env="PERSONA_KEY", api_base="http://h/v1")
    assert "sk-secret" not in str(config.lm_args()) and config.lm_args()["api_base"] == "http://h/v1"


def test_backends_report_the_embedded_model():
    rows = {row.model: row for row in list_backends()}
    assert rows["local/smollm2"].available


def test_list_outputs_share_the_token_budget_with_free_text():
    schema = {
        "properties": {
            "reasoning": {"type": "string"},
            "dropped": {"type": "array", "items": {"type": "string"}},
            "subtle": {"type": "boolean"},
        }
    }
    for chars_per_token in (3, 1):
        bounded = bounded_schema(schema, max_tokens=160, fixed_tokens=20, chars_per_token=chars_per_token)
        share = (160 - 20 - CLOSING_MARGIN) * chars_per_token // 2
        listed = bounded["properties"]["dropped"]
        assert bounded["properties"]["reasoning"]["maxLength"] == share
        assert listed["maxItems"] * (listed["items"]["maxLength"] + LIST_ITEM_OVERHEAD) <= share
        assert listed["maxItems"] >= 1 and "maxItems" not in schema["properties"]["dropped"]  # input untouched


def test_provider_names_read_without_litellm_are_litellms():
    """Spec checking reads litellm's provider enum from its source, so as not to import it: the two must agree."""
    from litellm.types.utils import LlmProviders

    from persona.lm.config import _provider_enum_values

    assert _provider_enum_values() == {provider.value for provider in LlmProviders}
