"""Census fidelity of combinations: a population can match every marginal and still break how attributes go together.

For a pair of attributes the joint distribution of the personas is compared with the weighted source's: total
variation distance over the cells, and Cramér's V (the strength of association) in each. A population of n
personas differs from its source by chance alone, more so with many cells, so each pair's distance is set against
the distances of n-person samples drawn from the source itself: a pair is flagged when the personas are further
off than 95% of those samples.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from persona.metrics.fidelity import categories

TOP_CATEGORIES = 8  # an attribute's most common source categories; the rest are pooled as "other"
OTHER = "(other)"
NULL_RESAMPLES = 500
NULL_QUANTILE = 0.95


@dataclass(frozen=True)
class JointFidelity:
    """One pair's comparison; ``table`` has a row per (first, second) cell: source share and persona share."""

    first: str
    second: str
    personas: int
    tvd: float
    null_tvd: float  # the distance n draws from the source itself exceed only 5% of the time
    cramers_v_source: float
    cramers_v_personas: float
    table: pd.DataFrame

    @property
    def flagged(self) -> bool:
        return self.tvd > self.null_tvd

    @property
    def excess(self) -> float:
        """How far the personas are beyond what sampling explains (negative: within it)."""
        return self.tvd - self.null_tvd


def _labels(attribute: str, source: pd.Series, weights: np.ndarray, personas: pd.Series) -> tuple[pd.Series, ...]:
    """Both sides' category labels, the source's rare categories pooled so a joint table stays readable."""
    source_labels, persona_labels = categories(attribute, source), categories(attribute, personas)
    totals = pd.Series(weights, index=source_labels.to_numpy()).groupby(level=0).sum().sort_values(ascending=False)
    keep = set(totals.index[:TOP_CATEGORIES]) if len(totals) > TOP_CATEGORIES + 1 else set(totals.index)
    return source_labels.where(source_labels.isin(keep), OTHER), persona_labels.where(persona_labels.isin(keep), OTHER)


def cramers_v(table: pd.DataFrame) -> float:
    """Cramér's V of a joint share table (rows x columns summing to 1): 0 independent, 1 one determines the other."""
    values = table.to_numpy(dtype=float)
    rows, columns = values.sum(axis=1), values.sum(axis=0)
    values = values[rows > 0][:, columns > 0]
    rows, columns = rows[rows > 0], columns[columns > 0]
    if min(values.shape) < 2:
        return float("nan")
    expected = np.outer(rows, columns)
    phi2 = float(((values - expected) ** 2 / expected).sum())
    return float(np.sqrt(phi2 / (min(values.shape) - 1)))


def joint_compare(
    first: str,
    second: str,
    source: pd.DataFrame,
    weights: np.ndarray | None,
    personas: pd.DataFrame,
    seed: int = 0,
) -> JointFidelity:
    """Joint TVD, its sampling null, and Cramér's V in source and personas, for one pair of attributes."""
    weight = np.ones(len(source)) if weights is None else np.asarray(weights, dtype=float)
    a_source, a_personas = _labels(first, source[first].reset_index(drop=True), weight, personas[first])
    b_source, b_personas = _labels(second, source[second].reset_index(drop=True), weight, personas[second])
    source_cells = pd.Series(weight, index=pd.MultiIndex.from_arrays([a_source, b_source])).groupby(level=[0, 1]).sum()
    persona_cells = (
        pd.Series(1.0, index=pd.MultiIndex.from_arrays([a_personas, b_personas])).groupby(level=[0, 1]).sum()
    )
    index = source_cells.index.union(persona_cells.index)
    table = pd.DataFrame(
        {
            "source": (source_cells / source_cells.sum()).reindex(index, fill_value=0.0),
            "personas": (persona_cells / max(len(personas), 1)).reindex(index, fill_value=0.0),
        }
    )
    n = len(personas)
    tvd = float(0.5 * np.abs(table["source"] - table["personas"]).sum())
    rng = np.random.default_rng([seed, 11])
    draws = rng.multinomial(n, table["source"].to_numpy(), size=NULL_RESAMPLES) / max(n, 1)
    null = 0.5 * np.abs(draws - table["source"].to_numpy()).sum(axis=1)
    return JointFidelity(
        first,
        second,
        n,
        tvd,
        float(np.quantile(null, NULL_QUANTILE)),
        cramers_v(table["source"].unstack(fill_value=0.0)),
        cramers_v(table["personas"].unstack(fill_value=0.0)),
        table,
    )


def joint_fidelity(
    source: pd.DataFrame, weights: np.ndarray | None, personas: pd.DataFrame, attributes: Sequence[str], seed: int = 0
) -> list[JointFidelity]:
    """Every pair of ``attributes``, largest excess over sampling noise first."""
    results = [
        joint_compare(a, b, source, weights, personas, seed=seed) for a, b in itertools.combinations(attributes, 2)
    ]
    return sorted(results, key=lambda r: -r.excess)
