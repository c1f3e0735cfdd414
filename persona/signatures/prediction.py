"""Preference prediction: from what is known about a user, which of two answers will they prefer?"""

from typing import Literal

import dspy


class PredictPreference(dspy.Signature):
    """Predict which of two answers this particular user will prefer. Use only what is known about them: their
    profile, or the choices they made between earlier answers, or nothing at all. Decide on the content of the
    answers, never on which one comes first."""

    user: str = dspy.InputField(desc="what is known about the user who asked")
    question: str = dspy.InputField(desc="the question the user asked")
    answer_a: str = dspy.InputField(desc="answer A")
    answer_b: str = dspy.InputField(desc="answer B")
    reasoning: str = dspy.OutputField(desc="one short sentence")
    preferred: Literal["A", "B"] = dspy.OutputField(desc="the answer this user prefers")
