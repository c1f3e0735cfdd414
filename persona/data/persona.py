"""The persona record: the paper's attribute names (Appendix A), readable string values, missing as null."""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel, ConfigDict, field_validator

ATTRIBUTES: tuple[str, ...] = (
    "age",
    "sex",
    "race",
    "ancestry",
    "household language",
    "education",
    "employment status",
    "class of worker",
    "industry category",
    "occupation category",
    "detailed job description",
    "income",
    "marital status",
    "household type",
    "family presence and age",
    "place of birth",
    "citizenship",
    "veteran status",
    "disability",
    "health insurance",
    "big five scores",
    "defining quirks",
    "mannerisms",
    "personal time",
    "lifestyle",
    "ideology",
    "political views",
    "religion",
    "cognitive difficulty",
    "ability to speak English",
    "vision difficulty",
    "fertility",
    "hearing difficulty",
)


class Persona(BaseModel):
    """A synthetic person. Attribute order follows ``ATTRIBUTES`` so renderings and ids are stable."""

    model_config = ConfigDict(frozen=True)

    id: str
    attributes: dict[str, str | None]

    @field_validator("attributes")
    @classmethod
    def _known_names(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        unknown = sorted(set(value) - set(ATTRIBUTES))
        if unknown:
            raise ValueError(f"unknown persona attributes {unknown}; the names are persona.data.ATTRIBUTES")
        return {name: value.get(name) for name in ATTRIBUTES}

    @classmethod
    def from_attributes(cls, attributes: dict[str, str | None]) -> Persona:
        """Build a persona whose id is a hash of its attributes, so the same person gets the same id in every run."""
        ordered = {name: attributes.get(name) for name in ATTRIBUTES}
        digest = hashlib.sha256(json.dumps(ordered, sort_keys=True).encode()).hexdigest()[:12]
        return cls(id=f"p-{digest}", attributes=ordered)

    def known(self) -> dict[str, str]:
        return {name: value for name, value in self.attributes.items() if value is not None}

    def as_prompt(self) -> str:
        """Compact text for prompts: one ``name: value`` per known attribute."""
        return "\n".join(f"{name}: {value}" for name, value in self.known().items())
