"""Who a preference predictor serves and who it leaves behind: pure functions over its judged pairs.

A person's pairs are not independent of each other (one person, one set of tastes), so every confidence interval
here resamples *personas*, not pairs: a predictor that is right on all of one person's 200 pairs and wrong on all
of another's has learnt two people, not 400 facts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from persona.metrics.accuracy import Estimate

AGE_BANDS = ((0, 17, "under 18"), (18, 29, "18-29"), (30, 44, "30-44"), (45, 64, "45-64"), (65, 200, "65+"))
INCOME_BANDS = ((0, 24_999, "under $25k"), (25_000, 49_999, "$25k-50k"), (50_000, 99_999, "$50k-100k"))
DERIVED = {"age band": ("age", AGE_BANDS), "income band": ("income", INCOME_BANDS)}
DEFAULT_GROUPS = ("age band", "sex", "race", "education", "income band", "political views", "religion")


class GroupAccuracy(BaseModel):
    """One census group's accuracy, as ``group_accuracy`` gives it, with its persona-clustered CI."""

    attribute: str
    group: str
    accuracy: float
    low: float
    high: float
    personas: int
    pairs: int
    ranked: bool = Field(description="the group has enough personas to be ranked (never worst or best otherwise)")


def clustered_mean(
    scores: Sequence[float], clusters: Sequence[str], resamples: int = 1000, seed: int = 0, confidence: float = 0.95
) -> Estimate:
    """The mean score with a percentile bootstrap CI that resamples whole clusters (personas) with replacement;
    each resample's mean is over every item of the clusters drawn. ``n`` counts items."""
    data = np.asarray(scores, dtype=float)
    if data.size == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    value = float(data.mean())
    codes, _ = pd.factorize(pd.Series(list(clusters)))
    sums = np.bincount(codes, weights=data)
    counts = np.bincount(codes).astype(float)
    if len(counts) < 2 or np.allclose(sums / counts, sums[0] / counts[0]):
        return Estimate(value, value, value, int(data.size))
    draws = np.random.default_rng(seed).integers(0, len(counts), size=(resamples, len(counts)))
    means = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return Estimate(value, float(low), float(high), int(data.size))


def brier(p_preferred: Sequence[float]) -> float:
    """Mean squared error of the probability given to the answer actually preferred (0 best; 0.25 a coin)."""
    data = np.asarray(p_preferred, dtype=float)
    return float(np.mean((1 - data) ** 2)) if data.size else math.nan


def calibration_bins(p_a: Sequence[float], a_preferred: Sequence[bool], bins: int = 10) -> pd.DataFrame:
    """Equal-width bins of P(A preferred): each bin's pairs, mean predicted probability and observed share."""
    p = np.asarray(p_a, dtype=float)
    y = np.asarray(a_preferred, dtype=float)
    index = np.minimum((p * bins).astype(int), bins - 1)
    rows = [
        {
            "bin": b,
            "low": b / bins,
            "high": (b + 1) / bins,
            "n": int(m.sum()),
            "predicted": p[m].mean(),
            "observed": y[m].mean(),
        }
        for b in range(bins)
        if (m := index == b).any()
    ]
    return pd.DataFrame(rows, columns=["bin", "low", "high", "n", "predicted", "observed"])


def expected_calibration_error(p_a: Sequence[float], a_preferred: Sequence[bool], bins: int = 10) -> float:
    """ECE: the pair-weighted mean gap between predicted probability and observed share over equal-width bins."""
    table = calibration_bins(p_a, a_preferred, bins)
    if table.empty:
        return math.nan
    return float((table["n"] * (table["predicted"] - table["observed"]).abs()).sum() / table["n"].sum())


def group_of(attribute: str, attributes: Mapping[str, str | None]) -> str | None:
    """A persona's group under ``attribute``: the attribute's value, or for ``age band`` / ``income band`` the band
    its number falls in. None when the persona has no value (such personas form no group)."""
    if attribute not in DERIVED:
        return attributes.get(attribute)
    source, bands = DERIVED[attribute]
    raw = attributes.get(source)
    try:
        number = float(str(raw).replace(",", ""))
    except ValueError:
        return None
    for low, high, label in bands:
        if low <= number <= high:
            return label
    return "$100k+" if attribute == "income band" else None


def group_accuracy(
    scores: pd.DataFrame,
    personas: Mapping[str, Mapping[str, str | None]],
    groups: Sequence[str],
    min_size: int,
    resamples: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Accuracy per census group for every attribute in ``groups``: one row per (attribute, value) with its
    persona-clustered CI, personas and pairs; ``ranked`` is False for a group of fewer than ``min_size`` personas,
    which is shown but never the worst or best. ``scores`` has ``persona_id`` and ``score`` (one per pair)."""
    rows = []
    for attribute in groups:
        label = scores["persona_id"].map(lambda pid, a=attribute: group_of(a, personas[pid]))
        for value, part in scores[label.notna()].groupby(label[label.notna()], sort=True):
            estimate = clustered_mean(part["score"].tolist(), part["persona_id"].tolist(), resamples, seed)
            people = int(part["persona_id"].nunique())
            rows.append(
                {
                    "attribute": attribute,
                    "group": str(value),
                    "accuracy": estimate.value,
                    "low": estimate.low,
                    "high": estimate.high,
                    "personas": people,
                    "pairs": len(part),
                    "ranked": people >= min_size,
                }
            )
    return pd.DataFrame(rows, columns=["attribute", "group", "accuracy", "low", "high", "personas", "pairs", "ranked"])


def worst_and_gap(table: pd.DataFrame) -> tuple[dict | None, float | None]:
    """The ranked group with the lowest accuracy (attribute, group, accuracy), and the best-worst gap among ranked
    groups; None for both when no group is ranked, and no worst group when every ranked group scores the same."""
    ranked = table[table["ranked"]]
    if ranked.empty:
        return None, None
    gap = float(ranked["accuracy"].max() - ranked["accuracy"].min())
    if gap == 0:
        return None, 0.0
    worst = ranked.loc[ranked["accuracy"].idxmin()]
    return {"attribute": worst["attribute"], "group": worst["group"], "accuracy": float(worst["accuracy"])}, gap


def position_consistency(first: Sequence[bool], second: Sequence[bool]) -> float:
    """Share of pairs whose preferred *answer* is the same in both orders (``first``/``second``: whether the
    answer preferred in each order was the correct one); 1.0 means position never changed the choice."""
    a, b = np.asarray(first, dtype=bool), np.asarray(second, dtype=bool)
    return float(np.mean(a == b)) if a.size else math.nan
