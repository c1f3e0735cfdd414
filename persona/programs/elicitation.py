"""Preference elicitation: the person, simulated from their profile, and the built-in policy that asks them.

The asking policy is a responder like any other (``persona.Ask`` in, ``persona.Answer`` out). What it may use
beyond the question comes in ``ask.context``: ``ask_user``, a function from a clarifying question to the person's
reply, and ``turns``, how many questions it may ask. A user's own policy, named by import path, gets the same.
"""

from __future__ import annotations

from collections.abc import Sequence

import dspy

from persona.programs.responders import Answer, Ask, ModeResponder
from persona.programs.retrying import ReaskingPredict
from persona.signatures import AnswerFromConversation, AskOrAnswer, ReplyAsPersona

NOTHING_YET = "(nothing asked yet)"


def conversation_text(turns: Sequence[tuple[str, str]]) -> str:
    """Clarifying questions and replies as the asker is shown them."""
    return "\n".join(f"You asked: {question}\nThey replied: {reply}" for question, reply in turns) or NOTHING_YET


class SimulatedUser(dspy.Module):
    """The persona, role-played from their profile, replying briefly to one clarifying question.

    Example:
        >>> SimulatedUser()(persona="age: 70", request="Rent or buy?", asked="Moving soon?").reply  # doctest: +SKIP
    """

    def __init__(self, lm: dspy.LM | None = None) -> None:
        super().__init__()
        self.respond = ReaskingPredict(ReplyAsPersona)
        self.respond.lm = lm

    def forward(self, persona: str, request: str, asked: str, config: dict | None = None) -> dspy.Prediction:
        return self.respond(persona=persona, request=request, asked=asked, config=config or {})


class Asker:
    """The built-in asking policy: while it has questions left it decides to ask one more or to answer; then it
    answers from the conversation. When it asked nothing (a budget of 0, or it chose not to), it answers as the
    persona-blind baseline does, with the very same request, so budget 0 is the blind baseline's cache entry."""

    def __init__(self) -> None:
        self.decide = ReaskingPredict(AskOrAnswer)
        self.answer = ReaskingPredict(AnswerFromConversation)
        self.baseline = ModeResponder("baseline")

    def __call__(self, ask: Ask) -> Answer:
        ask_user = ask.context["ask_user"]
        said: list[tuple[str, str]] = []
        for left in range(int(ask.context.get("turns", 0)), 0, -1):
            step = self.decide(question=ask.question, conversation=conversation_text(said), questions_left=left)
            if step.action != "ask" or not step.clarifying_question.strip():
                break
            said.append((step.clarifying_question, ask_user(step.clarifying_question)))
        if not said:
            return self.baseline(ask)
        prediction = self.answer(question=ask.question, conversation=conversation_text(said))
        return Answer(answer=prediction.answer)
