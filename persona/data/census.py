"""Census samples mapped onto persona attributes: one decoded table, its weights, and what it backs."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files

import numpy as np
import pandas as pd

from persona.data.rules import apply_age_rules
from persona.errors import InputError

# Numeric attributes stay numbers in the table and become strings only for the personas drawn.
NUMERIC = ("age", "income")


@dataclass
class CensusSample:
    """Decoded census rows: one column per census-backed attribute (labels, or numbers for age and income)."""

    name: str
    frame: pd.DataFrame
    weights: np.ndarray
    census_backed: tuple[str, ...]
    detailed_education: bool = True  # False when education levels are too coarse to name a child's school grade

    def __post_init__(self) -> None:
        if len(self.frame) == 0:
            raise InputError(f"{self.name}: no census rows to sample from")
        if len(self.weights) != len(self.frame) or not np.all(self.weights >= 0) or self.weights.sum() <= 0:
            raise InputError(f"{self.name}: weights must be one non-negative number per row, not all zero")
        self._cdf = np.cumsum(self.weights, dtype=float)
        self._cdf /= self._cdf[-1]

    def draw(self, rng: np.random.Generator) -> int:
        """One row index, drawn with probability proportional to its weight (a person of the population)."""
        return min(int(np.searchsorted(self._cdf, rng.random(), side="right")), len(self._cdf) - 1)

    def attributes(self, index: int) -> dict[str, str | None]:
        """A row as persona attribute strings; missing values become null."""
        row = self.frame.iloc[index]
        out: dict[str, str | None] = {}
        for name in self.census_backed:
            value = row[name]
            if pd.isna(value):
                out[name] = None
            elif name in NUMERIC:
                out[name] = str(round(float(value)))
            else:
                out[name] = str(value)
        return out

    def as_personas(self, min_age: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
        """The rows personas can be drawn from (aged >= ``min_age``), with the age rules applied as they would be.

        The rules depend only on age and sex, so they are worked out once per (age, sex) group.
        """
        keep = (self.frame["age"] >= min_age).to_numpy()
        frame, weights = self.frame[keep].copy(), self.weights[keep]
        sentinel = object()
        changed: dict[str, dict[int, str | None]] = {}
        for (age, sex), rows in frame.groupby(["age", "sex"], observed=True, dropna=False).indices.items():
            probe = {name: sentinel for name in self.census_backed}
            probe |= {"age": str(int(age)), "sex": None if pd.isna(sex) else str(sex)}
            for name, value in apply_age_rules(probe, self.detailed_education).items():  # type: ignore[arg-type]
                if name in self.census_backed and name not in ("age", "sex") and value is not sentinel:
                    changed.setdefault(name, {}).update(dict.fromkeys(rows.tolist(), value))
        for name, values in changed.items():
            column = frame[name].to_numpy(dtype=object, copy=True)
            positions = np.fromiter(values, dtype=int)
            column[positions] = np.array(list(values.values()), dtype=object)
            frame[name] = column
        return frame, weights


ACS12_COLUMNS = ("income", "employment", "race", "age", "gender", "citizen", "lang", "married", "edu", "disability")

# One decode table per attribute: acs12 column -> {code: label}. Labels follow the ACS wording where one exists.
ACS12_DECODE: dict[str, tuple[str, dict[str, str]]] = {
    "sex": ("gender", {"male": "Male", "female": "Female"}),
    "race": (
        "race",
        {"white": "White", "black": "Black or African American", "asian": "Asian", "other": "Some other race"},
    ),
    "education": (
        "edu",
        {"hs or lower": "High school or lower", "college": "College degree", "grad": "Graduate degree"},
    ),
    "employment status": (
        "employment",
        {"employed": "Employed", "unemployed": "Unemployed", "not in labor force": "Not in labor force"},
    ),
    "marital status": ("married", {"yes": "Married", "no": "Not married"}),
    "citizenship": ("citizen", {"yes": "U.S. citizen", "no": "Not a U.S. citizen"}),
    "household language": ("lang", {"english": "English only", "other": "Language other than English"}),
    "disability": ("disability", {"yes": "With a disability", "no": "Without a disability"}),
}

# What the embedded source backs with census data; everything else is rule-derived, procedural or null.
ACS12_CENSUS_BACKED: tuple[str, ...] = ("age", "income", *ACS12_DECODE)


def load_acs12() -> pd.DataFrame:
    """The bundled ACS 2012 sample (2,000 respondents; U.S. Census Bureau via OpenIntro, see SOURCES.md)."""
    with files("persona.data.reference").joinpath("acs12.csv").open("rb") as handle:
        frame = pd.read_csv(handle)
    missing = set(ACS12_COLUMNS) - set(frame.columns)
    if missing:
        raise ValueError(f"acs12.csv lacks columns {sorted(missing)}")
    return frame[list(ACS12_COLUMNS)]


def decode_acs12(frame: pd.DataFrame) -> pd.DataFrame:
    """Decode acs12 columns into persona attributes; codes outside a table are an error, blanks stay missing."""
    decoded = pd.DataFrame(index=frame.index)
    decoded["age"] = frame["age"].astype(float)
    # Income is "not in universe" (blank) under 15 in the ACS; the age rules render it as 0 like the paper.
    decoded["income"] = frame["income"].astype(float)
    for attribute, (column, table) in ACS12_DECODE.items():
        unknown = sorted(set(frame[column].dropna()) - set(table))
        if unknown:
            raise ValueError(f"acs12 column {column!r}: unknown codes {unknown}")
        decoded[attribute] = frame[column].map(table).astype("category")
    return decoded[list(ACS12_CENSUS_BACKED)]


def acs12_sample() -> CensusSample:
    """The embedded source: an unweighted simple random sample, so every respondent counts once."""
    frame = decode_acs12(load_acs12())
    return CensusSample("acs12", frame, np.ones(len(frame)), ACS12_CENSUS_BACKED, detailed_education=False)
