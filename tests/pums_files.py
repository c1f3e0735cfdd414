"""PUMS-format person and housing files built from the real data dictionary's codes, for tests and benchmarks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from persona.data.dictionary import load_dictionary
from persona.data.pums import ADJUSTMENT, KEY, PUMS_FIELDS, WEIGHT


def _codes(variable, rng: np.random.Generator, n: int, pad: bool) -> np.ndarray:
    """Every code the dictionary lists (blank as an empty field), drawn uniformly; unpadded when ``pad`` is off."""
    codes = [("" if set(code) == {"b"} else code) for code in variable.labels]
    if not pad:
        codes = [c.lstrip("0") or ("0" if c else "") for c in codes]
    return rng.choice(np.array(codes, dtype=object), size=n)


def person_frame(rows: int, seed: int = 0, pad: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    variables = load_dictionary()
    age = rng.integers(0, 100, rows)
    income = np.where(age < 15, np.nan, rng.choice([0, 1, 15_000, 48_000, 250_000, 4_209_995, -19_998], rows))
    frame = pd.DataFrame(
        {
            "RT": "P",
            KEY: [f"2023HU{i // 2:07d}" for i in range(rows)],
            "SPORDER": np.arange(rows) % 2 + 1,
            "PUMA": "03701",
            WEIGHT: rng.integers(1, 200, rows),
            ADJUSTMENT: "1019518",
            "AGEP": age,
            "PINCP": pd.array(income, dtype="Int64"),
        }
    )
    for field in PUMS_FIELDS:
        if field.record == "person" and field.rule in ("label", "category"):
            frame[field.variable] = _codes(variables[field.variable], rng, rows, pad)
    return frame


def housing_frame(serials: list[str], seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed + 1)
    variables = load_dictionary()
    frame = pd.DataFrame({"RT": "H", KEY: serials, "WGTP": rng.integers(1, 200, len(serials))})
    for field in PUMS_FIELDS:
        if field.record == "housing":
            frame[field.variable] = _codes(variables[field.variable], rng, len(serials), pad=True)
    return frame


# Columns per record in the Census Bureau's 2023 1-year PUMS csv files: what a full-width file carries.
FULL_WIDTH = {"person": 287, "housing": 241}


def _widened(frame: pd.DataFrame, columns: int, seed: int) -> pd.DataFrame:
    """``frame`` padded with numeric filler columns to ``columns``, as the unused variables of a real file are."""
    extra = columns - frame.shape[1]
    if extra <= 0:
        return frame
    rng = np.random.default_rng([seed, 99])
    filler = pd.DataFrame(
        rng.integers(0, 10_000, size=(len(frame), extra)), columns=[f"ZZ{i:03d}" for i in range(extra)]
    )
    return pd.concat([frame, filler], axis=1)


def write_pums(
    folder: Path, rows: int, seed: int = 0, state: str = "06", pad: bool = True, full_width: bool = False
) -> tuple[Path, Path]:
    """Write ``psam_p<state>.csv`` and ``psam_h<state>.csv`` (two persons per household) into ``folder``; with
    ``full_width`` as many columns as the Census Bureau's files have (the extra ones filler)."""
    folder.mkdir(parents=True, exist_ok=True)
    people = person_frame(rows, seed, pad)
    homes = housing_frame(sorted(set(people[KEY])), seed)
    if full_width:
        people, homes = _widened(people, FULL_WIDTH["person"], seed), _widened(homes, FULL_WIDTH["housing"], seed)
    person_path, housing_path = folder / f"psam_p{state}.csv", folder / f"psam_h{state}.csv"
    people.to_csv(person_path, index=False)
    homes.to_csv(housing_path, index=False)
    return person_path, housing_path
