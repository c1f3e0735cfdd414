"""Real survey respondents as personas: their own demographics, and the rest drawn for a person like them.

A card's demographics are set from the respondent's row; a value they did not give stays null, never invented.
Every other attribute comes from the ordinary pipeline, conditioned on them: the census row of a person like them
(same age band, and as many of their census attributes as the sample has enough people for), then the procedural
attributes (traits, Big Five, religion; party and ideology only when the card does not carry them). The survey's
items never reach the persona.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

from persona.data.attributes import MIN_CELL, sample_big_five, sample_politics, sample_religion, sample_traits
from persona.data.census import CensusSample
from persona.data.persona import ATTRIBUTES, Persona
from persona.data.population import ADULT_AGE
from persona.data.rules import apply_age_rules
from persona.data.surveys import Survey

AGE_BANDS = (18, 30, 45, 65)


def _like(source: CensusSample, known: dict[str, str | None]) -> np.ndarray:
    """Census rows of people like the respondent: same age band, then each census attribute the respondent gave
    whose label the sample uses, dropped from the last while fewer than ``MIN_CELL`` people match."""
    frame = source.frame
    masks: list[np.ndarray] = []
    if known.get("age") is not None:
        band = int(np.searchsorted(AGE_BANDS, float(known["age"] or 0), side="right"))
        ages = np.searchsorted(AGE_BANDS, frame["age"].to_numpy(dtype=float), side="right")
        masks.append(ages == band)
    for name in source.census_backed:
        value = known.get(name)
        if name in ("age", "income") or value is None:
            continue
        column = frame[name].astype(object)
        if (column == value).any():
            masks.append((column == value).to_numpy())
    for keep in range(len(masks), -1, -1):
        mask = np.logical_and.reduce(masks[:keep]) if keep else np.ones(len(frame), bool)
        if mask.sum() >= MIN_CELL or keep == 0:
            return np.flatnonzero(mask)
    raise AssertionError("unreachable")


def respondent_persona(survey: Survey, row: int, source: CensusSample, seed: int, draw: int = 0) -> Persona:
    """Respondent ``row`` of ``survey`` as a persona, drawn with its own random stream ``(seed, row)``; a redraw
    (``draw`` > 0, after a consistency check rejected one) changes only what was drawn, never what they said."""
    rng = np.random.default_rng([seed, 29, row] + ([draw] if draw else []))
    given = {name: survey.label(row, name) for name in survey.demographics}
    mapped = {name: value for name, value in given.items() if name in ATTRIBUTES}
    extras = {name: str(value) for name, value in given.items() if name not in ATTRIBUTES and value is not None}
    like = _like(source, mapped)
    weights = source.weights[like] / source.weights[like].sum()
    person = source.attributes(int(rng.choice(like, p=weights)))
    drawn_age = int(person["age"] or 0)
    person |= mapped
    given_age = person.get("age")
    age = int(float(given_age)) if given_age is not None else drawn_age
    person |= {name: value for name, value in sample_traits(rng, age).items() if name not in mapped}
    if age >= ADULT_AGE:
        for name, value in (
            ("big five scores", sample_big_five(rng, 1)[0]),
            ("religion", sample_religion(rng, 1)[0]),
        ):
            if name not in mapped:
                person[name] = value
        party, ideology = sample_politics(rng, person)
        if "political views" not in mapped:
            person["political views"] = party
        if "ideology" not in mapped:
            person["ideology"] = ideology
    if person.get("age") is not None:
        ruled = apply_age_rules({**person, "age": str(age)}, detailed_education=source.detailed_education)
        person = {name: (mapped[name] if name in mapped else value) for name, value in ruled.items()}
    attributes = {name: person.get(name) for name in ATTRIBUTES}
    key = json.dumps([survey.card.name, survey.ids[row], attributes, extras], sort_keys=True)
    return Persona(id=f"r-{hashlib.sha256(key.encode()).hexdigest()[:12]}", attributes=attributes, profile=extras)
