"""PERSONA Bench, thin: a persona-aware responder and a judge that decides whether its answer needs revision."""

from __future__ import annotations

import dspy

from persona.programs.retrying import ReaskingPredict
from persona.signatures import JudgeNeedsRevision, PersonalizedAnswer


class PersonalizedResponder(dspy.Module):
    """The model under test answers for a known persona.

    Args:
        lm: the model under test (default: ``dspy.settings.lm``).

    Example:
        >>> PersonalizedResponder()(question="Rent or buy?", persona="age: 29").answer  # doctest: +SKIP
    """

    def __init__(self, lm: dspy.LM | None = None) -> None:
        super().__init__()
        self.respond = ReaskingPredict(PersonalizedAnswer)
        self.respond.lm = lm

    def forward(self, question: str, persona: str, config: dict | None = None) -> dspy.Prediction:
        return self.respond(question=question, persona=persona, config=config or {})


class RevisionJudge(dspy.Module):
    """LLM-as-judge: an answer passes when the judge concludes it needs no revision for this persona.

    Args:
        lm: the judge model, kept separate from the model under test.

    Example:
        >>> RevisionJudge()(question="Rent or buy?", persona="age: 29", answer="Rent.").passed  # doctest: +SKIP
    """

    def __init__(self, lm: dspy.LM | None = None) -> None:
        super().__init__()
        self.judge = ReaskingPredict(JudgeNeedsRevision)
        self.judge.lm = lm

    def forward(self, question: str, persona: str, answer: str) -> dspy.Prediction:
        verdict = self.judge(question=question, persona=persona, answer=answer)
        return dspy.Prediction(
            critique=verdict.critique, needs_revision=verdict.needs_revision, passed=not verdict.needs_revision
        )


class BenchItem(dspy.Module):
    """Sample ``samples`` personalised answers for one (persona, question) and judge each on its own.

    With more than one sample, each draw runs at ``temperature`` with its own rollout id and seed, so draws are
    distinct and each is cached separately; a single sample uses the responder's configured settings.

    Args:
        responder: the model under test; judge: the judge model.

    Example:
        >>> BenchItem()(question="Rent or buy?", persona="age: 29", samples=2).samples  # doctest: +SKIP
    """

    def __init__(self, responder: dspy.LM | None = None, judge: dspy.LM | None = None) -> None:
        super().__init__()
        self.respond = PersonalizedResponder(responder)
        self.judge = RevisionJudge(judge)

    def forward(self, question: str, persona: str, samples: int = 1, temperature: float = 0.7) -> dspy.Prediction:
        results = []
        for draw in range(samples):
            config = {"rollout_id": draw, "temperature": temperature, "seed": draw} if samples > 1 else None
            answer = self.respond(question=question, persona=persona, config=config).answer
            verdict = self.judge(question=question, persona=persona, answer=answer)
            results.append({"sample": draw, "answer": answer, "critique": verdict.critique, "passed": verdict.passed})
        return dspy.Prediction(samples=results)
