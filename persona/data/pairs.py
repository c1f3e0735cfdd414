"""The seeded order a DPF preference pair's two sides are shown in (their record is the pairs stage's)."""

from __future__ import annotations

import hashlib

import numpy as np


def chosen_goes_first(seed: int, key: str) -> bool:
    """The seeded A/B order of one pair: depends on the seed and the pair's key only, never on run order."""
    digest = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
    return bool(np.random.default_rng([seed, digest]).random() < 0.5)
