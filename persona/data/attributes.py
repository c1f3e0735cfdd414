"""Procedural attributes sampled from published distributions (BFI-2 norms, Pew religion shares)."""

from __future__ import annotations

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


def big_five_correlation() -> np.ndarray:
    """The 5x5 BFI-2 domain correlation matrix (Soto & John 2017, Table 2)."""
    table = _reference("bfi2_intercorrelations.csv")
    index = {name: i for i, name in enumerate(BIG_FIVE_ORDER)}
    corr = np.eye(len(BIG_FIVE_ORDER))
    for row in table.itertuples():
        i, j = index[row.domain_1], index[row.domain_2]
        corr[i, j] = corr[j, i] = row.r
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
    table = _reference("religion_2023.csv")
    labels = [label.split(" (")[0] for label in table["category"]]
    shares = table["percent"].to_numpy(dtype=float)
    return [str(label) for label in rng.choice(labels, size=n, p=shares / shares.sum())]
