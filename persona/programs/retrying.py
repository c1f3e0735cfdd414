"""Predictors that re-ask when the LM's answer does not parse."""

from __future__ import annotations

from typing import Any

import dspy
from dspy.utils.exceptions import AdapterParseError

# Re-asks get rollout ids far above any sample index, so they never collide with a sample's own draws.
REASK_ROLLOUT_STRIDE = 1_000_000


class ReaskingPredict(dspy.Predict):
    """``dspy.Predict`` that re-asks up to ``reasks`` times when the answer cannot be parsed into the signature.

    The bad answer stays cached under its request; each re-ask carries its own rollout id, so it reaches the
    backend instead of the cache, and a replay walks the same sequence from the cache without calling anything.
    The final parse error carries ``attempts``.

    Args:
        signature: as for ``dspy.Predict``.
        reasks: extra attempts after the first.

    Example:
        >>> ReaskingPredict("question -> answer", reasks=2)(question="Why?")  # doctest: +SKIP
    """

    def __init__(self, signature: Any, reasks: int = 2, **config: Any) -> None:
        super().__init__(signature, **config)
        self.reasks = reasks

    def forward(self, **kwargs: Any) -> dspy.Prediction:
        config = dict(kwargs.pop("config", None) or {})
        base = config.get("rollout_id") or 0
        for attempt in range(self.reasks + 1):
            if attempt:
                config["rollout_id"] = base + attempt * REASK_ROLLOUT_STRIDE
            try:
                return super().forward(**kwargs, config=config)
            except AdapterParseError as exc:
                if attempt == self.reasks:
                    exc.attempts = attempt + 1  # type: ignore[attr-defined]
                    raise
        raise AssertionError("unreachable")
