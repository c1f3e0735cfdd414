"""PERSONA Bench: a responder in one of four modes, the judges (revision, subtlety, dropped attributes), one judged
bench item, and a role-play annotator for preference questions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import dspy
from dspy.utils.exceptions import AdapterParseError

from persona.data.persona import Persona
from persona.lm.llama import OutputBudgetError
from persona.programs.predictors import HistoryPair
from persona.programs.responders import MODES, Ask, Responder, history_k, load_responder, respond, shown_history
from persona.programs.retrying import ReaskingPredict
from persona.signatures import (
    AnswerFromChoices,
    AnswerWithoutPersona,
    ChoosePreferred,
    FindDroppedAttributes,
    JudgeNeedsRevision,
    JudgeSubtlety,
    PersonalizedAnswer,
    SummarizeRelevantPersona,
)


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


class ChoicesResponder(dspy.Module):
    """The model under test answers from the person's earlier choices alone (the ``history@k`` responders).

    Example:
        >>> ChoicesResponder()(choices="Earlier question 1: ...", question="Rent or buy?").answer  # doctest: +SKIP
    """

    def __init__(self, lm: dspy.LM | None = None) -> None:
        super().__init__()
        self.respond = ReaskingPredict(AnswerFromChoices)
        self.respond.lm = lm

    def forward(self, choices: str, question: str, config: dict | None = None) -> dspy.Prediction:
        return self.respond(choices=choices, question=question, config=config or {})


class BenchItem(dspy.Module):
    """Sample ``samples`` answers for one (persona, question) from one responder and judge each on its own.

    With more than one sample, each draw runs at ``temperature`` with its own rollout id and seed, so draws are
    distinct and each is cached separately; a single sample uses the responder's configured settings. A judge
    output that still fails to parse after its re-asks is recorded in ``judge_error`` with ``passed`` None.

    Args:
        responder: the model under test; judge: the judge model.
        mode: a built-in mode (one of ``MODES``), a plug-in's import path, or a responder object.
        lms: every model role of the run, for responders that use more than the model under test.

    Example:
        >>> BenchItem(mode="cot")(question="Rent or buy?", persona="age: 29", samples=2).samples  # doctest: +SKIP
    """

    def __init__(
        self,
        responder: dspy.LM | None = None,
        judge: dspy.LM | None = None,
        mode: str | Responder = "no_cot",
        lms: Mapping[str, dspy.LM] | None = None,
    ) -> None:
        super().__init__()
        self.respond = load_responder(mode) if isinstance(mode, str) else mode
        self.lm, self.lms = responder, dict(lms or {})
        self.judge = RevisionJudge(judge)

    def forward(
        self,
        question: str,
        persona: str,
        samples: int = 1,
        temperature: float = 0.7,
        record: Persona | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> dspy.Prediction:
        results = []
        for draw in range(samples):
            config = {"rollout_id": draw, "temperature": temperature, "seed": draw} if samples > 1 else None
            ask = Ask(question, record, persona, self.lm, self.lms, config, context or {})
            response = respond(self.respond, ask)
            result = {"sample": draw, "answer": response.answer, "summary": response.trace.get("summary")}
            if kept := {name: value for name, value in response.trace.items() if name != "summary"}:
                result["trace"] = kept  # what a plug-in keeps beside its answer (retrieved facts, reasoning)
            try:
                verdict = self.judge(question=question, persona=persona, answer=response.answer)
                result |= {"critique": verdict.critique, "passed": verdict.passed, "judge_error": None}
            except Exception as exc:
                if not is_output_failure(exc):
                    raise
                result |= {"critique": None, "passed": None, "judge_error": judge_failure(exc)}
            results.append(result)
        return dspy.Prediction(samples=results)


class ResponderProgram(dspy.Module):
    """A plug-in responder as a DSPy program over (question, persona text), the inputs an optimizer's examples
    give: what ``persona optimize`` compiles when its responder is someone's ``dspy.Module``. Its predictors are the
    responder's own; ``personas`` gives the responder the record behind a persona's text, as the bench does.
    """

    def __init__(self, responder: Any, lm: dspy.LM | None, personas: Mapping[str, Persona] | None = None) -> None:
        super().__init__()
        self.responder = responder
        self.model = lm
        self.personas = dict(personas or {})

    def forward(self, question: str, persona: str, config: dict | None = None) -> dspy.Prediction:
        ask = Ask(question, self.personas.get(persona), persona, self.model, {}, config)
        answer = respond(self.responder, ask)
        return dspy.Prediction(answer=answer.answer, **answer.trace)


class HistoryProgram(dspy.Module):
    """A ``history@k`` responder as a DSPy program over (question, persona text), the inputs an optimizer's
    examples give: what ``persona optimize`` compiles for a history mode. The persona text only finds the person's
    train pairs in ``histories``; the model sees their ``k`` earliest choices and the question, never the profile.
    """

    def __init__(self, k: int, lm: dspy.LM | None, histories: Mapping[str, list[HistoryPair]] | None = None) -> None:
        super().__init__()
        self.k = k
        self.histories = dict(histories or {})
        self.program = ChoicesResponder(lm)

    def forward(self, question: str, persona: str, config: dict | None = None) -> dspy.Prediction:
        choices = shown_history(self.k, self.histories.get(persona, []))
        return self.program(choices=choices, question=question, config=config)


Compilable = PersonalizedResponder | ResponderProgram | HistoryProgram


def responder_program(
    mode: str,
    lm: dspy.LM | None,
    personas: Mapping[str, Persona] | None = None,
    histories: Mapping[str, list[HistoryPair]] | None = None,
) -> Compilable:
    """The program of a built-in mode, of a ``history@k`` mode (``histories`` by persona text), or a fresh copy of
    a plug-in responder's (a ``dspy.Module``), on ``lm``."""
    if mode in MODES:
        return PersonalizedResponder(lm, mode)
    if (k := history_k(mode)) is not None:
        return HistoryProgram(k, lm, histories)
    responder = load_responder(mode)
    if not isinstance(responder, dspy.Module):
        raise TypeError(f"{mode}: a {type(responder).__name__} has no DSPy predictors to compile")
    return ResponderProgram(responder.deepcopy(), lm, personas)


def load_program(
    path: Path,
    mode: str,
    lm: dspy.LM | None,
    personas: Mapping[str, Persona] | None = None,
    histories: Mapping[str, list[HistoryPair]] | None = None,
) -> Compilable:
    """A compiled responder saved by ``persona optimize`` (DSPy JSON state) of ``mode`` (a built-in mode, a
    history mode or a plug-in's path), bound to ``lm``."""
    program = responder_program(mode, lm, personas, histories)
    program.load(str(path))
    for predictor in program.predictors():
        predictor.lm = lm
    return program


def judged(call: Callable[[], dspy.Prediction], fields: tuple[str, ...], error_field: str) -> dict[str, Any]:
    """Run one judge: its ``fields``, or Nones plus a recorded judge failure when its output never parsed."""
    try:
        verdict = call()
    except Exception as exc:
        if not is_output_failure(exc):
            raise
        return dict.fromkeys(fields) | {error_field: judge_failure(exc)}
    return {name: verdict[name] for name in fields} | {error_field: None}
