"""A DPF preference pair as a record: its stored fields, and the seeded order its two sides are shown in."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

PAIR_FIELDS = ("chosen", "rejected", "critique", "chosen_tokens", "rejected_tokens", "revision_attempts")


def pair_record(pair: Any) -> dict[str, Any]:
    """The stored fields of one DPF pair, ``shorter`` measured in tokens."""
    return {name: pair[name] for name in PAIR_FIELDS} | {"shorter": pair.chosen_tokens < pair.rejected_tokens}


def chosen_goes_first(seed: int, key: str) -> bool:
    """The seeded A/B order of one pair: depends on the seed and the pair's key only, never on run order."""
    digest = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
    return bool(np.random.default_rng([seed, digest]).random() < 0.5)
