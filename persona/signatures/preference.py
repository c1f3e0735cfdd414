"""Role-play annotation: as this person, which of two answers would you rather get?"""

from typing import Literal

import dspy


class ChoosePreferred(dspy.Signature):
    """Put yourself in the shoes of the person described: their circumstances, values and tastes. They asked
    the question and received two answers. Think about which one they would rather get, then choose it. Judge
    the answers on their content, not on their position."""

    persona: str = dspy.InputField(desc="the person you are, one attribute per line")
    question: str = dspy.InputField(desc="the question you asked")
    answer_a: str = dspy.InputField(desc="answer A")
    answer_b: str = dspy.InputField(desc="answer B")
    reasoning: str = dspy.OutputField(desc="a short reason, from your point of view")
    preferred: Literal["A", "B"] = dspy.OutputField(desc="the answer you prefer")
