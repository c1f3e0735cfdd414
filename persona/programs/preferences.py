"""Per-persona preference pairs by Direct Principle Feedback: generic answer -> persona critique -> revision."""

from __future__ import annotations

import dspy

from persona.programs.retrying import ReaskingPredict
from persona.signatures import AnswerWithoutPersona, CritiqueForPersona, ReviseForPersona


class DPFPair(dspy.Module):
    """Build one preference pair: the generic answer is rejected, its persona-guided revision is chosen.

    Args:
        generator: LM that answers and revises (default: the configured ``dspy.settings.lm``).
        critic: LM that role-plays the persona to critique the answer (default: the generator).

    Example:
        >>> pair = DPFPair()(question="Is a degree worth it?", persona="age: 67\\nincome: 12000")  # doctest: +SKIP
        >>> pair.chosen, pair.rejected  # doctest: +SKIP
    """

    def __init__(self, generator: dspy.LM | None = None, critic: dspy.LM | None = None) -> None:
        super().__init__()
        self.answer = ReaskingPredict(AnswerWithoutPersona)
        self.critique = ReaskingPredict(CritiqueForPersona)
        self.revise = ReaskingPredict(ReviseForPersona)
        self.answer.lm = self.revise.lm = generator
        self.critique.lm = critic or generator

    def forward(self, question: str, persona: str) -> dspy.Prediction:
        rejected = self.answer(question=question).answer
        critique = self.critique(question=question, answer=rejected, persona=persona).critique
        chosen = self.revise(question=question, answer=rejected, critique=critique).revision
        return dspy.Prediction(rejected=rejected, critique=critique, chosen=chosen)
