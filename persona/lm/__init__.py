"""LM backends: the registry of model strings and the embedded llama.cpp provider."""

from persona.lm.local import DEFAULT_MODEL, LocalModelError, provider
from persona.lm.registry import (
    Backend,
    ModelConfig,
    ModelStringError,
    RoleLM,
    current_role,
    list_backends,
    lm_secrets,
    make_lm,
    role_scope,
    validate_model_string,
)
from persona.lm.roles import Role, model_config

__all__ = [
    "DEFAULT_MODEL",
    "Backend",
    "LocalModelError",
    "ModelConfig",
    "ModelStringError",
    "Role",
    "RoleLM",
    "current_role",
    "list_backends",
    "lm_secrets",
    "make_lm",
    "model_config",
    "provider",
    "role_scope",
    "validate_model_string",
]
