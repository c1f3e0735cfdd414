"""PERSONA Bench: a responder in one of four modes, the judges (revision, subtlety, dropped attributes) and a
role-play annotator for preference questions."""

from __future__ import annotations

from typing import Any

import dspy
from dspy.utils.exceptions import AdapterParseError

from persona.lm.local import OutputBudgetError
from persona.programs.retrying import ReaskingPredict
from persona.signatures import (
    AnswerWithoutPersona,
    ChoosePreferred,
    FindDroppedAttributes,
    JudgeNeedsRevision,
    JudgeSubtlety,
    PersonalizedAnswer,
    SummarizeRelevantPersona,
)

MODES = ("baseline", "no_cot", "cot", "summary")


class PersonalizedResponder(dspy.Module):
    """The model under test answers for a known persona, in one of the bench's modes.

    ``baseline`` answers without seeing the persona; ``no_cot`` answers directly; ``cot`` reasons first (a
    ``reasoning`` output before the answer, as DSPy's ChainOfThought adds); ``summary`` first summarises the parts
    of the persona relevant to the question and answers from that summary alone (the summary is returned for the
    dropped-attribute analysis).

    Args:
        lm: the model under test (default: ``dspy.settings.lm``).
        mode: one of ``MODES``.

    Example:
        >>> PersonalizedResponder(mode="cot")(question="Rent or buy?", persona="age: 29").answer  # doctest: +SKIP
    """

    def __init__(self, lm: dspy.LM | None = None, mode: str = "no_cot") -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"unknown bench mode {mode!r}; the modes are {', '.join(MODES)}")
        self.mode = mode
        if mode == "baseline":
            self.respond = ReaskingPredict(AnswerWithoutPersona)
        elif mode == "cot":
            reasoning = dspy.OutputField(desc="think through what about this person matters for the question")
            self.respond = ReaskingPredict(PersonalizedAnswer.prepend("reasoning", reasoning, type_=str))
        else:
            self.respond = ReaskingPredict(PersonalizedAnswer)
        self.respond.lm = lm
        if mode == "summary":
            self.summarize = ReaskingPredict(SummarizeRelevantPersona)
            self.summarize.lm = lm

    def forward(self, question: str, persona: str, config: dict | None = None) -> dspy.Prediction:
        config = config or {}
        if self.mode == "baseline":
            return self.respond(question=question, config=config)
        if self.mode == "summary":
            summary = self.summarize(question=question, persona=persona, config=config).summary
            answer = self.respond(question=question, persona=summary, config=config).answer
            return dspy.Prediction(answer=answer, summary=summary)
        return self.respond(question=question, persona=persona, config=config)


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


class SubtletyJudge(dspy.Module):
    """Flags answers that name or quote the persona's attributes instead of fitting them quietly."""

    def __init__(self, lm: dspy.LM | None = None) -> None:
        super().__init__()
        self.judge = ReaskingPredict(JudgeSubtlety)
        self.judge.lm = lm

    def forward(self, question: str, persona: str, answer: str) -> dspy.Prediction:
        return self.judge(question=question, persona=persona, answer=answer)


def is_output_failure(exc: BaseException) -> bool:
    """A judge output that did not parse, or (local models) could not fit its token budget: the verdict is
    missing, which is a judge failure rather than a failure of the item being judged."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, AdapterParseError | OutputBudgetError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def judge_failure(exc: BaseException) -> dict[str, Any]:
    """How a missing verdict is recorded: never a pass or a fail, always counted."""
    return {"type": type(exc).__name__, "attempts": getattr(exc, "attempts", 1)}


class DroppedAttributes(dspy.Module):
    """LLM diff judge: the attribute names a summary left out, kept only where they name a known attribute.

    Names the judge invents are returned apart (``unknown``) rather than dropped silently.
    """

    def __init__(self, lm: dspy.LM | None = None) -> None:
        super().__init__()
        self.judge = ReaskingPredict(FindDroppedAttributes)
        self.judge.lm = lm

    def forward(self, persona: dict[str, str], summary: str) -> dspy.Prediction:
        text = "\n".join(f"{name}: {value}" for name, value in persona.items())
        names = {name.lower(): name for name in persona}
        # Small models often write "name: value"; the name is the part before the colon.
        listed = [
            str(n).split(":")[0].strip(" '\"#").lower() for n in self.judge(persona=text, summary=summary).dropped
        ]
        dropped = [name for name in persona if name.lower() in listed]
        return dspy.Prediction(dropped=dropped, unknown=sorted({n for n in listed if n and n not in names}))


class RolePlayAnnotator(dspy.Module):
    """As this persona, which of two answers (in the order given) would you rather get? ``choice`` is "A" or "B"."""

    def __init__(self, lm: dspy.LM | None = None) -> None:
        super().__init__()
        self.choose = ReaskingPredict(ChoosePreferred)
        self.choose.lm = lm

    def forward(self, persona: str, question: str, answer_a: str, answer_b: str) -> dspy.Prediction:
        verdict = self.choose(persona=persona, question=question, answer_a=answer_a, answer_b=answer_b)
        return dspy.Prediction(choice=verdict.preferred, reasoning=verdict.reasoning)
