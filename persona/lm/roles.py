"""Model roles of a spec and their defaults: the one place that says what a role left unsaid runs on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from persona.lm import local
from persona.lm.config import LOCAL_REPEAT_PENALTY, ModelConfig

OWN_FIELDS = ("max_tokens", "temperature")  # what a role keeps of its own when it borrows another role's backend


class Role(NamedTuple):
    """A model role: how long its outputs may be, and which role's backend it runs on when the spec leaves it out."""

    max_tokens: int = 256
    like: str | None = None


def role_fields(given: Any, role: Role, like: Mapping[str, Any] | None = None) -> Any:
    """One role's settings, for pydantic to validate: the fields given, over ``like``'s backend, over the defaults.

    A ``ModelConfig`` is taken as it is, and anything but a table is left for validation to refuse. Local models
    get a penalty on repeats unless ``extra`` is given: small models loop on long inputs, and remote providers do
    not all accept the penalty.
    """
    if isinstance(given, ModelConfig) or not isinstance(given, Mapping | None):
        return given
    fields: dict[str, Any] = {"max_tokens": role.max_tokens}
    if like is not None and given is None:
        fields |= {key: value for key, value in like.items() if key not in OWN_FIELDS}
    fields |= dict(given or {})
    if "extra" not in fields and str(fields.get("model", local.DEFAULT_MODEL)).startswith("local/"):
        fields["extra"] = dict(LOCAL_REPEAT_PENALTY)
    return fields


def role_table(given: Any, roles: Mapping[str, Role]) -> Any:
    """Every role's settings (see ``role_fields``); ``like`` names an earlier role. Unknown roles are refused."""
    if not isinstance(given, Mapping | None):
        return given
    given = dict(given or {})
    unknown = sorted(set(given) - set(roles))
    if unknown:
        raise ValueError(f"unknown model roles {unknown}; the roles are {', '.join(roles)}")
    table: dict[str, Any] = {}
    for name, role in roles.items():
        like = table.get(role.like) if role.like is not None and role.like in given else None
        table[name] = role_fields(given.get(name), role, _as_fields(like))
    return table


def _as_fields(config: Any) -> Mapping[str, Any] | None:
    if isinstance(config, ModelConfig):
        # The raw fields, not model_dump: its serializer redacts header values the borrowing role needs to send.
        return {name: getattr(config, name) for name in config.model_fields_set | {"model", "extra"}}
    return config


def model_config(model: str | None = None, api_base: str | None = None, max_tokens: int = 256) -> ModelConfig:
    """A role's settings from a model string, with the same defaults a spec gives a role."""
    given = {key: value for key, value in (("model", model), ("api_base", api_base)) if value is not None}
    return ModelConfig.model_validate(role_fields(given, Role(max_tokens)))
