"""Procedural attributes: published distributions (BFI-2, Pew religion, GSS 2018 politics) and curated lists."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.resources import files

import numpy as np
import pandas as pd

# Our own banding of a sampled domain score's z-score into the levels used in the paper's example persona.
LEVELS: tuple[tuple[float, str], ...] = (
    (-1.5, "Extremely Low"),
    (-0.5, "Low"),
    (0.5, "Average"),
    (1.5, "High"),
    (np.inf, "Extremely High"),
)
# BFI-2 names two domains differently from the paper's wording; the persona uses the paper's.
BIG_FIVE_NAMES = {
    "Open-Mindedness": "Openness",
    "Conscientiousness": "Conscientiousness",
    "Extraversion": "Extraversion",
    "Agreeableness": "Agreeableness",
    "Negative Emotionality": "Neuroticism",
}
BIG_FIVE_ORDER = ("Open-Mindedness", "Conscientiousness", "Extraversion", "Agreeableness", "Negative Emotionality")


def _reference(name: str) -> pd.DataFrame:
    with files("persona.data.reference").joinpath(name).open("rb") as handle:
        return pd.read_csv(handle)


@lru_cache(maxsize=1)
def big_five_correlation() -> np.ndarray:
    """The 5x5 BFI-2 domain correlation matrix (Soto & John 2017, Table 2); read once, and read-only."""
    table = _reference("bfi2_intercorrelations.csv")
    index = {name: i for i, name in enumerate(BIG_FIVE_ORDER)}
    corr = np.eye(len(BIG_FIVE_ORDER))
    for row in table.itertuples():
        i, j = index[row.domain_1], index[row.domain_2]
        corr[i, j] = corr[j, i] = row.r
    corr.setflags(write=False)
    return corr


def level(z: float) -> str:
    return next(label for upper, label in LEVELS if z < upper)


def sample_big_five(rng: np.random.Generator, n: int) -> list[str]:
    """Correlated domain z-scores from the BFI-2 intercorrelations, banded into levels.

    Means and SDs only shift and scale each domain, so the bands depend on the correlations alone.
    """
    scores = rng.multivariate_normal(np.zeros(len(BIG_FIVE_ORDER)), big_five_correlation(), size=n)
    return [
        ", ".join(f"{BIG_FIVE_NAMES[name]}: {level(z)}" for name, z in zip(BIG_FIVE_ORDER, row, strict=True))
        for row in scores
    ]


def sample_religion(rng: np.random.Generator, n: int) -> list[str]:
    """Religious affiliation drawn from Pew's 2023-24 shares (renormalised; they sum to 99.2% after rounding)."""
    labels, shares = _religions()
    return [str(label) for label in rng.choice(labels, size=n, p=shares)]


@lru_cache(maxsize=1)
def _religions() -> tuple[list[str], np.ndarray]:
    table = _reference("religion_2023.csv")
    shares = table["percent"].to_numpy(dtype=float)
    return [label.split(" (")[0] for label in table["category"]], shares / shares.sum()


AGE_GROUPS: tuple[tuple[int, str], ...] = ((13, "child"), (18, "teen"), (65, "adult"), (200, "senior"))
TRAIT_ATTRIBUTES = ("defining quirks", "mannerisms", "personal time", "lifestyle")


def age_group(age: int) -> str:
    return next(name for upper, name in AGE_GROUPS if age < upper)


@lru_cache(maxsize=1)
def traits() -> dict[str, dict[str, tuple[str, ...]]]:
    """Our curated quirk/mannerism/pastime/lifestyle lists (traits.json), indexed by age group."""
    raw = json.loads(files("persona.data.reference").joinpath("traits.json").read_text(encoding="utf-8"))
    return {
        attribute: {
            group: tuple(entry["text"] for entry in raw[attribute] if group in entry["ages"]) for _, group in AGE_GROUPS
        }
        for attribute in TRAIT_ATTRIBUTES
    }


def sample_traits(rng: np.random.Generator, age: int) -> dict[str, str]:
    """One age-appropriate entry of each curated list."""
    group = age_group(age)
    return {attribute: str(rng.choice(options[group])) for attribute, options in traits().items()}


# GSS 2018 codes -> the labels personas carry (GSS codebook wording, shortened).
PARTY_LABELS = {
    0: "Strong Democrat",
    1: "Democrat",
    2: "Independent, leaning Democrat",
    3: "Independent",
    4: "Independent, leaning Republican",
    5: "Republican",
    6: "Strong Republican",
    7: "Other party",
}
IDEOLOGY_LABELS = {
    1: "Extremely liberal",
    2: "Liberal",
    3: "Slightly liberal",
    4: "Moderate",
    5: "Slightly conservative",
    6: "Conservative",
    7: "Extremely conservative",
}
GSS_AGE_BANDS = (18, 30, 45, 65)
# Coarse ACS 2012 education levels -> the GSS degrees they cover (0 <HS, 1 HS, 2 junior college, 3 BA, 4 grad).
COARSE_DEGREES = {
    "High school or lower": (0, 1),
    "College degree": (2, 3),
    "Graduate degree": (4,),
}
# SCHL codes (PUMS data dictionary) -> GSS degree.
SCHL_DEGREES = {**{f"{c:02d}": 0 for c in range(1, 16)}, "16": 1, "17": 1, "18": 1, "19": 1, "20": 2, "21": 3}
SCHL_DEGREES |= {"22": 4, "23": 4, "24": 4}
MIN_CELL = 15
# When a cell is thinner than MIN_CELL, conditions are dropped in this order until it is not.
RELAX_ORDER = ("sex", "degree", "age", "race")


@lru_cache(maxsize=1)
def _gss() -> pd.DataFrame:
    frame = _reference("gss2018_politics.csv").dropna(subset=["partyid", "polviews", "age", "sex", "race", "degree"])
    frame = frame.assign(band=np.searchsorted(GSS_AGE_BANDS, frame["age"].to_numpy(), side="right"))
    return frame.reset_index(drop=True)


@lru_cache(maxsize=1)
def _degree_by_label() -> dict[str, tuple[int, ...]]:
    from persona.data.dictionary import load_dictionary  # the dictionary is only needed once politics is drawn

    schl = load_dictionary()["SCHL"].labels
    return {schl[code]: (degree,) for code, degree in SCHL_DEGREES.items()} | COARSE_DEGREES


def gss_conditions(person: dict[str, str | None]) -> dict[str, tuple[int, ...]]:
    """The GSS cell a persona belongs to: age band, sex, race group and degree(s), where the persona knows them."""
    conditions: dict[str, tuple[int, ...]] = {
        "age": (int(np.searchsorted(GSS_AGE_BANDS, int(person["age"] or 0), side="right")),)
    }
    if person.get("sex") in ("Female", "Male"):
        conditions["sex"] = (int(person["sex"] == "Female"),)
    race = person.get("race")
    if race:
        conditions["race"] = (1,) if race.startswith("White") else (2,) if race.startswith("Black") else (3,)
    degrees = _degree_by_label().get(person.get("education") or "")
    if degrees:
        conditions["degree"] = degrees
    return conditions


def sample_politics(rng: np.random.Generator, person: dict[str, str | None]) -> tuple[str, str]:
    """Party identification and ideology of one GSS 2018 respondent like this persona (same cell, drawn uniformly).

    Drawing a whole respondent keeps party and ideology jointly distributed as they are in the survey.
    """
    gss = _gss()
    columns = {"age": "band", "sex": "sex", "race": "race", "degree": "degree"}
    conditions = gss_conditions(person)
    for dropped in range(len(RELAX_ORDER) + 1):
        active = {k: v for k, v in conditions.items() if k not in RELAX_ORDER[:dropped]}
        mask = np.ones(len(gss), bool)
        for key, allowed in active.items():
            mask &= gss[columns[key]].isin(allowed).to_numpy()
        if mask.sum() >= MIN_CELL:
            break
    row = gss.iloc[int(rng.choice(np.flatnonzero(mask)))]
    return PARTY_LABELS[int(row["partyid"])], IDEOLOGY_LABELS[int(row["polviews"])]
