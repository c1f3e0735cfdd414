"""pass@k: the chance that at least one of k answers drawn for an item passes, estimated without bias."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased estimator 1 - C(n-c, k) / C(n, k) from n judged samples of which c passed (Chen et al., 2021).

    Computed as a running product, so large n never overflows. Each of the n samples must be judged on its own:
    scoring one completion k times is not pass@k.
    """
    if not 1 <= k <= n:
        raise ValueError(f"pass@k needs 1 <= k <= n, got k={k}, n={n}")
    if not 0 <= c <= n:
        raise ValueError(f"passes must be between 0 and n={n}, got {c}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def pass_at_k_curve(items: Iterable[Sequence[bool]], ks: Iterable[int]) -> dict[int, float]:
    """Mean pass@k over items for each k; an item counts for k only if it has at least k samples."""
    counts = [(len(samples), int(sum(samples))) for samples in items]
    curve = {}
    for k in ks:
        usable = [pass_at_k(n, c, k) for n, c in counts if n >= k]
        curve[k] = float(np.mean(usable)) if usable else math.nan
    return curve
