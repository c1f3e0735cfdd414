"""Census personas through the full pipeline, as a stage of any run: draw, LM consistency check, LM filling.

`personas generate` and every experiment given a census source build their personas here, with the same programs
and the same random streams, so an experiment's personas are the ones `personas generate` would build with the
same seed and model (and, like every LM call, they are cached in the run dir and replay exactly).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, Field

from persona.data.census import CensusSample
from persona.data.persona import Persona
from persona.data.population import PROFILE_CATEGORIES, profile_plan
from persona.lm.roles import Role
from persona.runs.executor import StageResult
from persona.runs.records import Record
from persona.runs.session import Session
from persona.runs.spec import Section

POPULATION_ROLE = Role(max_tokens=120)  # verdicts and short profile texts


def population_role(like: str) -> Role:
    """The population role of an experiment: on the backend of ``like`` (its fixed, strong model) unless named."""
    return Role(POPULATION_ROLE.max_tokens, like=like)


class PopulationSection(Section):
    """How an experiment builds personas from a census source (ignored for a personas file or run dir)."""

    check: bool = Field(default=True, description="LM consistency check with redraws of rejected profiles")
    max_draws: int = Field(default=5, gt=0, description="candidates per slot before the slot fails")
    fill: bool = Field(default=True, description="LM-written job description and profile details")
    categories_per_persona: int = Field(
        default=2, ge=0, le=len(PROFILE_CATEGORIES), description="open-ended profile categories per persona"
    )

    def uses_lm(self) -> bool:
        return self.check or self.fill


class Draw(BaseModel):
    """One candidate profile the consistency check judged."""

    draw: int
    id: str
    consistent: bool
    problems: str


class PersonaSlot(Record):
    """A persona slot built: the persona, and every candidate checked before it (for the pruning rate)."""

    persona: Persona
    draws: list[Draw]


def population_stage(
    session: Session,
    source: CensusSample,
    n: int,
    seed: int,
    min_age: int,
    options: PopulationSection,
    role: str,
) -> tuple[list[tuple[int, tuple[str, ...]]], StageResult]:
    """Build ``n`` persona slots as the run's ``personas`` stage, checked and filled by the LM of ``role`` (when the
    run has one); a slot whose draws all fail is a failed item."""
    slots = list(enumerate(profile_plan(n, seed, options.categories_per_persona if options.fill else 0)))

    def make_work(lms: Mapping[str, Any]) -> Callable[[tuple[int, tuple[str, ...]]], dict[str, Any]]:
        from persona.programs.population import ConsistencyCheck, OpenEndedFiller, PersonaBuilder

        lm = lms.get(role)
        builder = PersonaBuilder(
            source,
            seed,
            min_age=min_age,
            max_draws=options.max_draws,
            checker=ConsistencyCheck(lm) if options.check else None,
            filler=OpenEndedFiller(lm) if options.fill else None,
        )

        def work(slot: tuple[int, tuple[str, ...]]) -> dict[str, Any]:
            built = builder(slot=slot[0], categories=slot[1])
            return {"persona": built.persona.model_dump(), "draws": built.draws}

        return work

    stage = session.stage(
        "personas", slots, key=lambda slot: f"slot-{slot[0]}", make_work=make_work, record=PersonaSlot
    )
    return slots, stage


def built_personas(stage: StageResult) -> list[Persona]:
    return [Persona.model_validate(entry.record["persona"]) for entry in stage.entries if entry.record is not None]
