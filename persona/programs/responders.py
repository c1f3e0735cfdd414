"""Responders: the approach under test, behind one typed interface, whether built in or brought by a user.

The bench's four modes are the built-in responders. Anyone else's approach (a ``dspy.Module``, a program around a
fine-tuned model, a plain function) comes in by import path, ``"mypkg.approach:MyResponder"``, named in a spec
where a mode would be. It receives an ``Ask`` and returns its answer; the bench judges it exactly as it judges the
built-in modes, on the same personas, questions and judge.

A plug-in is called inside ``dspy.context(lm=ask.lm)``, so DSPy predictors it builds without a model of their own
run on the model under test, through the run's cache. Its identity (path, and version or source digest) enters the
run's fingerprint, so that editing it starts a new run instead of mixing its answers with the old version's.

Naming and checking a responder loads no DSPy: a spec is validated and fingerprinted without it.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, Field

from persona.data.persona import Persona
from persona.plugins import PluginError, identity, import_path_of, is_import_path, load_callable, load_object

if TYPE_CHECKING:
    import dspy

    from persona.programs.bench import ChoicesResponder, PersonalizedResponder

MODES = ("baseline", "no_cot", "cot", "summary")

# Responder objects handed over from Python for the run under way, by the import path that names them in its spec.
_offered: ContextVar[Mapping[str, Any]] = ContextVar("persona_offered_responders", default=MappingProxyType({}))


@dataclass(frozen=True)
class Ask:
    """Everything a responder may use to answer one question for one person.

    Attributes:
        question: the question to answer.
        persona: the person, as a record (``persona.known()`` gives the attributes that are set); None only when
            a caller had the text alone.
        persona_text: the same person as the built-in modes show it to a model.
        lm: the model under test (the run's ``responder`` role).
        lms: every model role of the run, by name.
        config: the sampling settings of this draw (rollout id, temperature, seed) when a kind draws several
            answers per item; pass it on as ``config=`` to DSPy predictors. None: the model's own settings.
        context: what a kind adds beyond the profile, e.g. the persona's own earlier preference pairs.
    """

    question: str
    persona: Persona | None
    persona_text: str
    lm: dspy.LM | None = None
    lms: Mapping[str, dspy.LM] = field(default_factory=dict)
    config: Mapping[str, Any] | None = None
    context: Mapping[str, Any] = field(default_factory=dict)


class Answer(BaseModel):
    """A responder's answer, and what it wants kept beside it (reasoning, a summary, what it retrieved).

    The built-in modes return what the model said, even an empty string (the judge then judges it, as it always
    has); a plug-in that returns text, a prediction or a mapping must give non-blank text (see ``respond``).
    """

    answer: str
    trace: dict[str, Any] = Field(default_factory=dict)


class Responder(Protocol):
    """Anything callable with an ``Ask``: a ``dspy.Module`` (its ``forward(ask)``), an object or a function.

    It may return an ``Answer``, a ``dspy.Prediction`` or mapping with an ``answer`` field (the other fields become
    its trace), or the answer as a string.
    """

    def __call__(self, ask: Ask) -> Any: ...


class ResponderError(ValueError):
    """A responder returned no usable answer: an error for that item, never a guess."""


class ModeResponder:
    """A built-in mode (``baseline``, ``no_cot``, ``cot``, ``summary``), or a compiled program of one."""

    def __init__(self, mode: str, program: PersonalizedResponder | None = None) -> None:
        from persona.programs.bench import PersonalizedResponder

        self.mode = mode
        self.program = program or PersonalizedResponder(None, mode)

    def __call__(self, ask: Ask) -> Answer:
        prediction = self.program(question=ask.question, persona=ask.persona_text, config=dict(ask.config or {}))
        return Answer(answer=prediction.answer, trace={"summary": prediction.get("summary")})


HISTORY = re.compile(r"^history@(\d+)$")  # the history responder shown a persona's k earliest train pairs


def history_k(name: str) -> int | None:
    """The k of a ``history@k`` responder name; None for any other name."""
    match = HISTORY.match(name)
    return int(match.group(1)) if match else None


class HistoryResponder:
    """No profile: the persona's own ``k`` earliest train pairs (``ask.context["history"]``, each a ``HistoryPair``)
    and the side they chose. ``k = 0`` is the baseline mode itself, so its requests are the baseline's: the same
    cache entries, the same answers."""

    def __init__(self, k: int, program: ChoicesResponder | None = None) -> None:
        from persona.programs.bench import ChoicesResponder

        self.k = k
        self.baseline = ModeResponder("baseline")
        self.program = program or ChoicesResponder(None)

    def __call__(self, ask: Ask) -> Answer:
        if self.k == 0:
            return self.baseline(ask)
        choices = shown_history(self.k, ask.context.get("history", ()))
        prediction = self.program(choices=choices, question=ask.question, config=dict(ask.config or {}))
        return Answer(answer=prediction.answer)


def shown_history(k: int, history: Sequence[Any]) -> str:
    """The text of a persona's ``k`` earliest train pairs (``HistoryPair``s); too few is an error for the item."""
    from persona.programs.predictors import history_text

    if len(history) < k:
        raise ResponderError(f"history@{k}: the persona has {len(history)} train pairs to show")
    return history_text(list(history)[:k])


def load_responder(name: str) -> Responder:
    """The responder a spec names: a built-in mode, or an import path to a responder class, factory or object.

    A class or a function taking no arguments is called once to make the responder; anything else that is
    callable is the responder itself.
    """
    if name in MODES:
        return ModeResponder(name)
    if (k := history_k(name)) is not None:
        return HistoryResponder(k)
    if name in _offered.get():
        return _offered.get()[name]
    if not is_import_path(name):
        raise PluginError(
            f"unknown bench mode {name!r}; the modes are {', '.join(MODES)}, or a responder of your own as "
            "'package.module:Name'"
        )
    return load_callable(name, "an Ask")


def responder_identity(name: str) -> dict[str, str] | None:
    """A plug-in responder's identity for the fingerprint; None for a built-in one."""
    if name in MODES or history_k(name) is not None:
        return None
    return identity(name, _offered.get().get(name) or load_object(name))


@contextlib.contextmanager
def offering(responder: Any) -> Iterator[str]:
    """Hand a responder object over for the runs in this block: a spec names it by the import path yielded, and
    it is used as it is (not constructed again). Its identity is its class's path and source digest, or its
    ``version``: give it a ``version`` naming its settings when they differ between runs."""
    path = import_path_of(responder)
    token = _offered.set({**_offered.get(), path: responder})
    try:
        yield path
    finally:
        _offered.reset(token)


def respond(responder: Responder, ask: Ask) -> Answer:
    """Ask ``responder`` on the model under test and check what it returns."""
    import dspy

    with dspy.context(lm=ask.lm):
        result = responder(ask)
    if isinstance(result, Answer):
        return result
    if isinstance(result, str):
        fields: dict[str, Any] = {"answer": result}
    elif isinstance(result, dspy.Prediction):
        fields = dict(result.items())
    elif isinstance(result, Mapping):
        fields = dict(result)
    else:
        raise ResponderError(f"the responder returned a {type(result).__name__}, not an answer")
    answer = fields.pop("answer", None)
    if not isinstance(answer, str) or not answer.strip():
        raise ResponderError(f"the responder returned no answer text (got {answer!r})")
    try:
        json.dumps(fields, ensure_ascii=False)
    except (TypeError, ValueError) as exc:  # kept in the item log and the results, so it must be JSON
        raise ResponderError(f"the responder's trace fields {sorted(fields)} are not JSON data ({exc})") from None
    return Answer(answer=answer, trace=fields)
