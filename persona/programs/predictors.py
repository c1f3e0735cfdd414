"""Preference predictors: given who a person is (or what they chose before), which of two answers they prefer.

A predictor is the approach under test in a ``prefs`` run: a reward model conditioned on a user, a prompted judge, a
few-shot learner of the user's earlier choices. It receives a ``PairAsk`` and returns a ``Choice``. The built-in
ones are one LM judge shown three kinds of knowledge about the user:

- ``profile``: the persona's profile (the paper's role-play annotator);
- ``blind``: nothing, which is what a single "average user" reward model predicts;
- ``history``: only the persona's own earliest training pairs, with the side they preferred (no profile).

Anyone else's comes in by import path, ``"mypkg.module:MyPredictor"`` (a class made without arguments, a factory,
or any callable), its identity in the run's fingerprint as for responders. Naming and checking a predictor loads
no DSPy.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Protocol

from pydantic import BaseModel, Field, ValidationError

from persona.data.persona import Persona
from persona.plugins import PluginError, identity, is_import_path, load_callable, load_object

if TYPE_CHECKING:
    import dspy

PREDICTORS = ("profile", "blind", "history")
BLIND_USER = "Nothing is known about this user."


class HistoryPair(NamedTuple):
    """One of the persona's own earlier choices: the question, the answer they preferred, and the other."""

    question: str
    preferred: str
    other: str


@dataclass(frozen=True)
class PairAsk:
    """Everything a predictor may use for one judgement.

    Attributes:
        persona: the person, as a record; ``persona_text``: the same as the built-in predictors show it.
        history: the person's own training pairs, earliest first (``history_k`` of them; empty when k is 0).
        question, answer_a, answer_b: the question and the two answers, in the order shown.
        lm: the run's ``predictor`` model; lms: every model role of the run.
    """

    persona: Persona
    persona_text: str
    history: Sequence[HistoryPair]
    question: str
    answer_a: str
    answer_b: str
    lm: dspy.LM | None = None
    lms: Mapping[str, dspy.LM] = field(default_factory=dict)


class Choice(BaseModel):
    """A predictor's judgement: the answer preferred, P(A is preferred) when it has one, and why."""

    preferred: Literal["A", "B"]
    p_a: float | None = Field(default=None, ge=0, le=1, description="probability that A is preferred")
    rationale: str | None = None


class Predictor(Protocol):
    """Anything callable with a ``PairAsk``. It may return a ``Choice``, a mapping or ``dspy.Prediction`` with a
    ``preferred`` field ("A" or "B"; ``p_a`` and ``rationale`` optional), or "A" / "B" itself."""

    def __call__(self, ask: PairAsk) -> Any: ...


class PredictorError(ValueError):
    """A predictor returned something other than a choice of A or B: an error for that pair, never a guess."""


def choice_of(value: Any) -> Choice:
    """A predictor's return value as a ``Choice``, or a ``PredictorError`` saying what came back instead."""
    if isinstance(value, Choice):
        return value
    if isinstance(value, str):
        value = {"preferred": value.strip()}
    elif not isinstance(value, Mapping):
        with contextlib.suppress(AttributeError, TypeError):
            value = dict(value.items())  # a dspy.Prediction
    if not isinstance(value, Mapping):
        raise PredictorError(f"a predictor returned a {type(value).__name__}, not a choice of 'A' or 'B'")
    fields = {name: value[name] for name in ("preferred", "p_a", "rationale") if name in value}
    if "rationale" not in fields and "reasoning" in value:
        fields["rationale"] = value["reasoning"]
    try:
        return Choice.model_validate(fields)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise PredictorError(f"a predictor returned {where} = {problem.get('input')!r}: {problem['msg']}") from None


class ContextPredictor:
    """A built-in predictor: the LM judge shown the profile, nothing, or the persona's own earlier choices."""

    def __init__(self, name: str) -> None:
        from persona.programs.prediction import PreferencePredictor

        self.name = name
        self.program = PreferencePredictor(None)

    def user(self, ask: PairAsk) -> str:
        if self.name == "profile":
            return ask.persona_text
        if self.name == "history" and ask.history:
            return history_text(ask.history)
        return BLIND_USER

    def __call__(self, ask: PairAsk) -> Choice:
        prediction = self.program(
            user=self.user(ask), question=ask.question, answer_a=ask.answer_a, answer_b=ask.answer_b
        )
        return Choice(preferred=prediction.preferred, rationale=prediction.reasoning)


def history_text(history: Sequence[HistoryPair]) -> str:
    """The persona's earlier choices as the ``history`` predictor shows them."""
    blocks = [
        f"Earlier question {n}: {pair.question}\nAnswer they preferred: {pair.preferred}\nAnswer they liked less: "
        f"{pair.other}"
        for n, pair in enumerate(history, start=1)
    ]
    return "This user's earlier choices between two answers:\n\n" + "\n\n".join(blocks)


def load_predictor(name: str) -> Predictor:
    """The predictor a spec names: a built-in one, or an import path to a predictor class, factory or object."""
    if name in PREDICTORS:
        return ContextPredictor(name)
    if not is_import_path(name):
        raise PluginError(
            f"unknown predictor {name!r}; the predictors are {', '.join(PREDICTORS)}, or one of your own as "
            "'package.module:Name'"
        )
    return load_callable(name, "a PairAsk")


def check_predictor(name: str) -> None:
    """Refuse, by name, a predictor that is neither built in nor importable; builds nothing for a built-in one."""
    if name not in PREDICTORS:
        load_predictor(name)


def predictor_identity(name: str) -> dict[str, str] | None:
    """A plug-in predictor's identity for the fingerprint; None for a built-in one."""
    return None if name in PREDICTORS else identity(name, load_object(name))
