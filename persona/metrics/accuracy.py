"""Accuracy with a bootstrap confidence interval."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from pydantic import BaseModel


class Estimate(NamedTuple):
    """A proportion with a two-sided confidence interval; NaN throughout when there is no data."""

    value: float
    low: float
    high: float
    n: int


class EstimateRecord(BaseModel):
    """An ``Estimate`` as manifests and reports hold it: JSON has no NaN, so a rate without data is None."""

    value: float | None
    low: float | None
    high: float | None
    n: int

    @classmethod
    def of(cls, estimate: Estimate) -> EstimateRecord:
        def known(v: float) -> float | None:
            return None if math.isnan(v) else v

        return cls(value=known(estimate.value), low=known(estimate.low), high=known(estimate.high), n=estimate.n)


def pass_rate(passed: Sequence[bool], confidence: float = 0.95, resamples: int = 1000, seed: int = 0) -> Estimate:
    """Share of passes with a percentile bootstrap CI (``scipy.stats.bootstrap``).

    Percentile rather than BCa: BCa is undefined when every item agrees, which small runs often see.
    Returns NaNs for an empty sequence and a zero-width interval when all items agree.
    """
    data = np.asarray(passed, dtype=float)
    if data.size == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    value = float(data.mean())
    if np.all(data == data[0]):
        return Estimate(value, value, value, int(data.size))
    from scipy import stats  # loaded when a rate is computed: it costs half a second of startup

    result = stats.bootstrap(
        (data,),
        np.mean,
        confidence_level=confidence,
        n_resamples=resamples,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    interval = result.confidence_interval
    return Estimate(value, float(interval.low), float(interval.high), int(data.size))
