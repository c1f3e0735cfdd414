"""LM backends: the registry of model strings and the embedded llama.cpp provider.

The names load on first use: a model's configuration (``ModelConfig``, ``Role``) is read without litellm and DSPy,
which only the LMs themselves (``make_lm``, ``provider``) import.
"""

from typing import TYPE_CHECKING

from persona.lazy import lazy_names

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

_MODULES = {
    "persona.lm.local": ("DEFAULT_MODEL", "LocalModelError"),
    "persona.lm.config": ("ModelConfig", "ModelStringError", "validate_model_string"),
    "persona.lm.roles": ("Role", "model_config"),
    "persona.lm.registry": (
        "Backend",
        "RoleLM",
        "current_role",
        "list_backends",
        "lm_secrets",
        "make_lm",
        "role_scope",
    ),
    "persona.lm.llama": ("provider",),
}

__all__ = sorted(name for names in _MODULES.values() for name in names)


__getattr__, __dir__ = lazy_names(__name__, _MODULES)
