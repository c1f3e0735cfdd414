"""The persona record: the paper's attribute names (Appendix A), readable string values, missing as null."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from persona.data.io import read_jsonl
from persona.errors import InputError

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
    """A synthetic person. Attribute order follows ``ATTRIBUTES`` so renderings and ids are stable.

    ``profile`` holds open-ended details beyond the 33 attributes (core values, fears, ...), written by an LM.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    attributes: dict[str, str | None]
    profile: dict[str, str] = Field(default_factory=dict)

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
        """Known attributes, then the open-ended profile details."""
        return {name: value for name, value in self.attributes.items() if value is not None} | self.profile

    def as_prompt(self) -> str:
        """Text for prompts: one ``name: value`` per known attribute."""
        return "\n".join(f"{name}: {value}" for name, value in self.known().items())

    def as_line(self) -> str:
        """The same facts on one line, for prompts and tables that want them compact."""
        return "; ".join(f"{name}: {value}" for name, value in self.known().items())

    def as_dict_text(self) -> str:
        """The paper's Appendix C rendering: a Python-style dict, keys sorted, age a number, missing as nan."""
        fields = {**self.attributes, **self.profile}
        lines = []
        for name in sorted(fields):
            value = fields[name]
            if value is None:
                shown = "nan"
            elif name == "age" and value.isdigit():
                shown = value
            else:
                shown = repr(value)
            lines.append(f"{name!r}: {shown}")
        return "{" + ",\n ".join(lines) + "}"


def read_personas(path: Path) -> list[Persona]:
    """Personas from JSONL (as written by ``persona personas generate``), naming the file and line of a bad one."""
    personas = []
    for number, record in enumerate(read_jsonl(path), start=1):
        try:
            personas.append(Persona.model_validate(record))
        except ValidationError as exc:
            problem = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise InputError(f"{path}: record {number}: not a persona ({problem})") from None
    return personas


class NullAttributes(BaseModel):
    """How complete the personas are: attributes each one leaves null (the embedded sample lacks some census ones)."""

    personas: int
    attributes: int = Field(description="attributes a persona has, null or not")
    mean: float | None
    min: int | None
    max: int | None


def null_attributes(personas: list[Persona]) -> NullAttributes:
    nulls = [sum(value is None for value in p.attributes.values()) for p in personas]
    return NullAttributes(
        personas=len(personas),
        attributes=len(personas[0].attributes) if personas else 0,
        mean=round(sum(nulls) / len(nulls), 2) if nulls else None,
        min=min(nulls, default=None),
        max=max(nulls, default=None),
    )
