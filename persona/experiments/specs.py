"""What every experiment's spec shares: where and how it runs, its fingerprint, and its model roles' defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, field_validator

from persona.lm import ModelConfig
from persona.lm.roles import Role, role_fields, role_table
from persona.runs.spec import RunSection, Section, spec_fingerprint


class ExperimentSpec(Section):
    """A kind's spec. Unknown keys are refused; ``run`` and ``out`` say where and how, never what is computed."""

    run: RunSection = Field(default_factory=RunSection, description="how to execute; never part of the results")
    out: Path | None = Field(default=None, description="run dir (default: a name under outputs/ from the spec)")

    def fingerprint(self) -> str:
        return spec_fingerprint(self)


class OneModelSpec(ExperimentSpec):
    """A spec with one LM; fields of ``model`` left out come from the kind's ``MODEL_ROLE``."""

    MODEL_ROLE: ClassVar[Role] = Role()
    model: ModelConfig = Field(
        default_factory=dict, validate_default=True, description="fields left out come from the kind's MODEL_ROLE"
    )

    @field_validator("model", mode="before")
    @classmethod
    def _role_defaults(cls, value: Any) -> Any:
        return role_fields(value, cls.MODEL_ROLE)


class RolesSpec(ExperimentSpec):
    """A spec with an LM per role; a role left out, or its fields left out, come from the kind's ``ROLES``."""

    ROLES: ClassVar[dict[str, Role]] = {}
    models: dict[str, ModelConfig] = Field(
        default_factory=dict, validate_default=True, description="per role; what is left out comes from ROLES"
    )

    @field_validator("models", mode="before")
    @classmethod
    def _every_role(cls, value: Any) -> Any:
        return role_table(value, cls.ROLES)
