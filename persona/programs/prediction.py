"""The LM judge behind the built-in preference predictors."""

from __future__ import annotations

import dspy

from persona.programs.retrying import ReaskingPredict
from persona.signatures import PredictPreference


class PreferencePredictor(dspy.Module):
    """Which of two answers a user prefers, from what is known about them (a profile, earlier choices, nothing).

    Example:
        >>> PreferencePredictor()(user="age: 70", question="Q?", answer_a="A", answer_b="B").preferred  # doctest: +SKIP
    """

    def __init__(self, lm: dspy.LM | None = None) -> None:
        super().__init__()
        self.predict = ReaskingPredict(PredictPreference)
        self.predict.lm = lm

    def forward(self, user: str, question: str, answer_a: str, answer_b: str) -> dspy.Prediction:
        return self.predict(user=user, question=question, answer_a=answer_a, answer_b=answer_b)
