"""DPF critique: read a generic answer through one persona's eyes and say how to make it fit them."""

import dspy


class CritiqueForPersona(dspy.Signature):
    """Take the point of view of the person described below and judge the answer to their question.
    Say which parts already suit this person and which parts miss their circumstances, values or tastes,
    quoting the answer and the description where it helps. This person likes short answers, so every
    suggestion must keep the answer as short as it is, or make it shorter, and still answer the question."""

    question: str = dspy.InputField(desc="the question the person asked")
    answer: str = dspy.InputField(desc="the generic answer to judge")
    persona: str = dspy.InputField(desc="the person, one attribute per line")
    critique: str = dspy.OutputField(desc="what fits, what does not, and concrete suggestions")
