"""Persona populations: census rows plus procedural attributes. (The LLM consistency check comes later.)"""

from __future__ import annotations

import numpy as np

from persona.data.attributes import sample_big_five, sample_religion
from persona.data.census import decode_acs12, load_acs12
from persona.data.persona import Persona

ADULT_AGE = 18


def sample_personas(n: int, seed: int, min_age: int = 0) -> list[Persona]:
    """Draw ``n`` distinct respondents of the embedded ACS sample and add Big Five levels and religion.

    Big Five norms and religion shares describe adults, so people under 18 get neither (null, not invented).

    Args:
        n: how many personas.
        seed: all randomness derives from it; the same seed gives the same personas.
        min_age: draw only respondents at least this old.

    Example:
        >>> [p.attributes["age"] for p in sample_personas(2, seed=0, min_age=18)]  # doctest: +SKIP
    """
    frame = load_acs12()
    frame = frame[frame["age"] >= min_age].reset_index(drop=True)
    if not 0 < n <= len(frame):
        raise ValueError(
            f"cannot draw {n} personas: the embedded sample has {len(frame)} respondents aged >= {min_age}"
        )
    rng = np.random.default_rng(seed)
    rows = frame.iloc[np.sort(rng.choice(len(frame), size=n, replace=False))].reset_index(drop=True)
    attributes = decode_acs12(rows)
    big_five = sample_big_five(rng, n)
    religion = sample_religion(rng, n)
    personas = []
    for i, person in enumerate(attributes):
        adult = int(person["age"]) >= ADULT_AGE
        person["big five scores"] = big_five[i] if adult else None
        person["religion"] = religion[i] if adult else None
        personas.append(Persona.from_attributes(person))
    return personas
