"""Persona populations drawn without an LM: census rows plus procedural attributes, and where a run's personas
come from.

Every draw is addressed by ``(seed, slot, draw)``: its random stream depends on nothing else, so slots can run in
any order or in parallel, and a rejected profile's replacement is the same in every run. The LM stages that check
and fill a drawn profile are ``persona.programs.population``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from persona.data.attributes import sample_big_five, sample_politics, sample_religion, sample_traits
from persona.data.census import CensusSample, acs12_sample
from persona.data.persona import Persona, read_personas
from persona.data.rules import apply_age_rules
from persona.data.sources import load_source
from persona.errors import InputError

ADULT_AGE = 18
WORKING_AGE = 16
SCHOOL_AGE = 5
MAX_AGE_REDRAWS = 10_000

JOB_DESCRIPTION = "detailed job description"
JOB_GUIDANCE = (
    "what they do day to day for a living, what they did before retiring, or what they are studying; "
    "in keeping with their employment, industry and occupation"
)
# Open-ended categories beyond the 33 attributes (the paper's "psychoanalytic" second stage), with what each covers.
PROFILE_CATEGORIES: dict[str, str] = {
    "core values": "the principles they hold most dear and try to live by",
    "fears": "what worries them most about their life or the future",
    "aspirations": "what they hope to achieve or experience",
    "formative experience": "one event that shaped who they are",
    "communication style": "how they like to talk, listen and disagree",
    "coping style": "how they deal with stress and setbacks",
    "entertainment preferences": "the stories, shows, music or games they enjoy",
    "source of pride": "what they are proudest of in their life",
}


def draw_profile(source: CensusSample, seed: int, slot: int, draw: int = 0, min_age: int = 0) -> Persona:
    """One candidate persona: a weighted census row plus procedural attributes, under the age rules.

    Big Five norms, religion shares and the GSS politics describe adults, so people under 18 get no Big Five or
    religion (null, not invented) and "Too young to have political views".
    """
    rng = np.random.default_rng([seed, slot, draw])
    for _ in range(MAX_AGE_REDRAWS):
        person = source.attributes(source.draw(rng))
        if int(person["age"] or 0) >= min_age:
            break
    else:
        raise InputError(f"{source.name}: found nobody aged >= {min_age} in {MAX_AGE_REDRAWS} draws; lower min_age")
    age = int(person["age"] or 0)
    person |= sample_traits(rng, age)
    if age >= ADULT_AGE:
        person["big five scores"] = sample_big_five(rng, 1)[0]
        person["religion"] = sample_religion(rng, 1)[0]
        person["political views"], person["ideology"] = sample_politics(rng, person)
    elif age >= SCHOOL_AGE:
        person[JOB_DESCRIPTION] = "Student"
    return Persona.from_attributes(apply_age_rules(person, detailed_education=source.detailed_education))


def sample_personas(n: int, seed: int, min_age: int = 0, source: CensusSample | None = None) -> list[Persona]:
    """``n`` procedural personas (no LM): slot ``i`` is ``draw_profile(source, seed, i)``.

    Example:
        >>> [p.attributes["age"] for p in sample_personas(2, seed=0, min_age=18)]  # doctest: +SKIP
    """
    if n <= 0:
        raise ValueError(f"cannot draw {n} personas")
    source = source or acs12_sample()
    return [draw_profile(source, seed, slot, min_age=min_age) for slot in range(n)]


def profile_plan(
    n: int, seed: int, per_persona: int, categories: Sequence[str] = tuple(PROFILE_CATEGORIES)
) -> list[tuple[str, ...]]:
    """Which open-ended categories each slot gets: consecutive windows over a seeded shuffle of the categories.

    Slot ``i`` takes positions ``i*k .. i*k+k-1`` (mod the number of categories), so over any population every
    category is used equally often (counts differ by at most one) and no slot repeats a category.
    """
    if not 0 <= per_persona <= len(categories):
        raise ValueError(f"per_persona must be between 0 and {len(categories)}, got {per_persona}")
    order = [categories[i] for i in np.random.default_rng([seed, 2]).permutation(len(categories))]
    return [tuple(order[(slot * per_persona + j) % len(order)] for j in range(per_persona)) for slot in range(n)]


DRAW = "draw:"  # names a bare procedural draw from a census source: ``draw:acs12``, ``draw:pums:PATH``


def is_census_source(personas: str) -> bool:
    return personas == "acs12" or personas.startswith("pums:")


def load_personas(personas: str, n: int, seed: int, min_age: int) -> list[Persona]:
    """The personas of a file or population run dir, or ``n`` drawn without an LM when asked for by name
    (``draw:SOURCE``). A bare census source is refused: everywhere else it means the full pipeline (consistency
    check and filling), which only a run with a population model can build."""
    if personas.startswith(DRAW) and is_census_source(personas.removeprefix(DRAW)):
        return sample_personas(n, seed, min_age, source=load_source(personas.removeprefix(DRAW)))
    if is_census_source(personas):
        raise InputError(
            f"personas {personas!r}: a census source means personas built by the full pipeline, which is not run "
            f"here; give a `persona personas generate` run dir (or its personas.jsonl), or ask for a bare "
            f"procedural draw by name: {DRAW}{personas}"
        )
    path = Path(personas)
    return read_personas(path / "personas.jsonl" if path.is_dir() else path)
