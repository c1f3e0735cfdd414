"""The inputs runs share: personas from a census source or a population run, prompts from a split."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from persona.data.filters import PAPER_SPLIT, apply_rules, stratified_split
from persona.data.io import read_jsonl
from persona.data.persona import Persona, read_personas
from persona.data.prompts import Prompt, load_embedded_prompts, value_laden
from persona.data.sources import load_source
from persona.errors import InputError
from persona.programs.population import sample_personas

PARTS = ("train", "heldout")


def is_census_source(personas: str) -> bool:
    return personas == "acs12" or personas.startswith("pums:")


def load_personas(personas: str, n: int, seed: int, min_age: int) -> list[Persona]:
    """``n`` personas drawn from a census source (procedurally, as run specs draw them), or a population run's."""
    if is_census_source(personas):
        return sample_personas(n, seed, min_age, source=load_source(personas))
    path = Path(personas)
    return read_personas(path / "personas.jsonl" if path.is_dir() else path)


def load_split_prompts(prompts: str, seed: int) -> dict[str, list[Prompt]]:
    """Train and held-out value-laden prompts: a curated run's split (the classifier already dropped what people
    agree on), or the embedded set's value-laden questions under the rules and the paper's ratio."""
    if prompts == "embedded":
        kept, _ = apply_rules(value_laden(load_embedded_prompts()))
        split = stratified_split(kept, PAPER_SPLIT, seed)
        return {part: [p for p in kept if split[p.id] == part] for part in PARTS}
    path = Path(prompts)
    rows = read_jsonl(path / "prompts.jsonl" if path.is_dir() else path)
    missing = [i for i, row in enumerate(rows, start=1) if "split" not in row or "text" not in row]
    if missing:
        raise InputError(f"{path}: record {missing[0]} has no split/text; give a `persona prompts curate` output")
    fields = set(Prompt.model_fields)
    parsed = [(Prompt.model_validate({k: v for k, v in row.items() if k in fields}), row["split"]) for row in rows]
    return {part: value_laden([p for p, s in parsed if s == part]) for part in PARTS}


def split_personas(personas: list[Persona], heldout: float, seed: int) -> dict[str, list[Persona]]:
    """Train and held-out personas: a seeded shuffle of the ids, so a persona's side never depends on list order.

    ``heldout`` is the held-out share; at least one persona lands on each side when there are two or more.
    """
    if not 0 < heldout < 1:
        raise ValueError(f"held-out share must be between 0 and 1, got {heldout}")
    ids = sorted({p.id for p in personas})
    order = np.random.default_rng([seed, 8]).permutation(len(ids))
    count = min(max(round(len(ids) * heldout), 1), len(ids) - 1) if len(ids) > 1 else 0
    held = {ids[i] for i in order[:count]}
    return {
        "train": [p for p in personas if p.id not in held],
        "heldout": [p for p in personas if p.id in held],
    }
