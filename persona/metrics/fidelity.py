"""Census fidelity: how far a persona population's attribute distribution is from its source's weighted one."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

MISSING = "(not applicable)"
POOLED = "(pooled small categories)"
# Numeric attributes are compared in bands (the paper's Figures 2 and 13 show them as histograms).
BANDS: dict[str, tuple[tuple[float, str], ...]] = {
    "age": (
        (18, "0-17"),
        (25, "18-24"),
        (35, "25-34"),
        (45, "35-44"),
        (55, "45-54"),
        (65, "55-64"),
        (75, "65-74"),
        (math.inf, "75+"),
    ),
    "income": (
        (1, "$0 or loss"),
        (10_000, "$1-9,999"),
        (25_000, "$10,000-24,999"),
        (50_000, "$25,000-49,999"),
        (75_000, "$50,000-74,999"),
        (100_000, "$75,000-99,999"),
        (150_000, "$100,000-149,999"),
        (math.inf, "$150,000+"),
    ),
}
MIN_EXPECTED = 5.0  # chi-square's usual rule: categories expected fewer times are pooled


@dataclass(frozen=True)
class Fidelity:
    """One attribute's comparison. ``table`` has one row per category: source share, persona share and count."""

    attribute: str
    personas: int
    tvd: float
    chi2: float
    dof: int
    p_value: float
    table: pd.DataFrame


def categories(attribute: str, values: Sequence | pd.Series) -> pd.Series:
    """Values as comparable category labels: numeric attributes banded, missing as its own category."""
    series = pd.Series(values, dtype=object)
    if attribute in BANDS:
        numbers = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
        bands = BANDS[attribute]
        edges = np.array([upper for upper, _ in bands])
        labels = np.array([label for _, label in bands], dtype=object)
        index = np.searchsorted(edges, np.nan_to_num(numbers, nan=0.0), side="right")
        return pd.Series(np.where(np.isnan(numbers), MISSING, labels[np.minimum(index, len(bands) - 1)]))
    return series.where(series.notna(), MISSING).astype(str)


def shares(labels: pd.Series, weights: np.ndarray | None = None) -> pd.Series:
    """Weighted share of each label (all weights 1 when none are given)."""
    weight = np.ones(len(labels)) if weights is None else np.asarray(weights, dtype=float)
    totals = pd.Series(weight, index=labels.to_numpy()).groupby(level=0).sum()
    return totals / totals.sum()


def compare(
    attribute: str, source: Sequence | pd.Series, weights: np.ndarray | None, personas: Sequence | pd.Series
) -> Fidelity:
    """Total variation distance and a chi-square goodness-of-fit test of the personas against the source.

    Categories the source would expect fewer than five times among the personas are pooled for the test (not for
    the distance), so the chi-square approximation holds; with fewer than two categories left the test is NaN.
    """
    source_shares = shares(categories(attribute, source), weights)
    persona_labels = categories(attribute, personas)
    counts = persona_labels.value_counts()
    n = int(counts.sum())
    index = source_shares.index.union(counts.index)
    table = pd.DataFrame(
        {
            "source": source_shares.reindex(index, fill_value=0.0),
            "personas": (counts / max(n, 1)).reindex(index, fill_value=0.0),
            "count": counts.reindex(index, fill_value=0).astype(int),
        }
    ).sort_values(["source", "count"], ascending=False)
    tvd = float(0.5 * np.abs(table["source"] - table["personas"]).sum()) if n else math.nan
    chi2, dof, p_value = _chi_square(table, n)
    return Fidelity(attribute, n, tvd, chi2, dof, p_value, table)


def _chi_square(table: pd.DataFrame, n: int) -> tuple[float, int, float]:
    expected = table["source"] * n
    small = expected < MIN_EXPECTED
    observed = table["count"][~small].tolist()
    predicted = expected[~small].tolist()
    if small.any():
        observed.append(int(table["count"][small].sum()))
        predicted.append(float(expected[small].sum()))
    keep = [i for i, e in enumerate(predicted) if e > 0]
    if n and any(o > 0 and e == 0 for o, e in zip(observed, predicted, strict=True)):
        return math.inf, len(predicted) - 1, 0.0  # the personas hold a value the source never does
    if n == 0 or len(keep) < 2:
        return math.nan, 0, math.nan
    from scipy import stats

    result = stats.chisquare([observed[i] for i in keep], [predicted[i] for i in keep])
    return float(result.statistic), len(keep) - 1, float(result.pvalue)
