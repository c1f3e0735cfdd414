"""LM backends: the registry of model strings and the embedded llama.cpp provider.

The names load on first use: a model's configuration (``ModelConfig``, ``Role``) is read without litellm and DSPy,
which only the LMs themselves (``make_lm``, ``provider``) import.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from persona.lm.config import ModelConfig as ModelConfig
    from persona.lm.config import ModelStringError as ModelStringError
    from persona.lm.config import validate_model_string as validate_model_string
    from persona.lm.llama import provider as provider
    from persona.lm.local import DEFAULT_MODEL as DEFAULT_MODEL
    from persona.lm.local import LocalModelError as LocalModelError
    from persona.lm.registry import Backend as Backend
    from persona.lm.registry import RoleLM as RoleLM
    from persona.lm.registry import current_role as current_role
    from persona.lm.registry import list_backends as list_backends
    from persona.lm.registry import lm_secrets as lm_secrets
    from persona.lm.registry import make_lm as make_lm
    from persona.lm.registry import role_scope as role_scope
    from persona.lm.roles import Role as Role
    from persona.lm.roles import model_config as model_config

_PUBLIC = {
    "DEFAULT_MODEL": "persona.lm.local",
    "LocalModelError": "persona.lm.local",
    "ModelConfig": "persona.lm.config",
    "ModelStringError": "persona.lm.config",
    "validate_model_string": "persona.lm.config",
    "Role": "persona.lm.roles",
    "model_config": "persona.lm.roles",
    "Backend": "persona.lm.registry",
    "RoleLM": "persona.lm.registry",
    "current_role": "persona.lm.registry",
    "list_backends": "persona.lm.registry",
    "lm_secrets": "persona.lm.registry",
    "make_lm": "persona.lm.registry",
    "role_scope": "persona.lm.registry",
    "provider": "persona.lm.llama",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'persona.lm' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])
