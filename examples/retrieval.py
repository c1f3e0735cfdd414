"""A responder of your own, in its own module: answer from the few attributes that bear on the question.

The bench's built-in modes show a model the whole profile (or a summary of it). This one retrieves the persona's
``k`` attributes whose names and values share the most words with the question, and answers from those alone:
the question it lets the bench answer is whether less, better-chosen context personalizes as well as all of it.

Run it beside the built-in modes (nothing in persona-testbed is edited to add it):

    persona bench run --modes no_cot,examples.retrieval:RetrievalResponder --n 4 --questions 2
"""

from __future__ import annotations

import re

import dspy

from persona.programs import Ask

WORD = re.compile(r"[a-z]+")
STOPWORDS = frozenset(
    "a an and are be do does for how i in is it my of on or should the to what which with you".split()
)


class AnswerFromFacts(dspy.Signature):
    """Answer the question for this person, letting the facts about them shape the answer without reciting them.
    Keep it brief: a few sentences at most."""

    question: str = dspy.InputField(desc="the person's question")
    facts: str = dspy.InputField(desc="what matters about the person for this question, one per line")
    answer: str = dspy.OutputField(desc="a short answer fitted to this person")


def relevant(attributes: dict[str, str], question: str, k: int) -> list[str]:
    """The ``k`` attributes sharing most words with the question (ties keep profile order), as ``name: value``."""
    asked = set(WORD.findall(question.lower())) - STOPWORDS

    def overlap(item: tuple[int, tuple[str, str]]) -> tuple[int, int]:
        index, (name, value) = item
        return -len(asked & set(WORD.findall(f"{name} {value}".lower()))), index

    ranked = sorted(enumerate(attributes.items()), key=overlap)
    return [f"{name}: {value}" for _, (name, value) in ranked[:k]]


class RetrievalResponder(dspy.Module):
    """Answers from the persona's ``k`` most relevant attributes; the retrieved lines are kept in its trace."""

    def __init__(self, k: int = 5) -> None:
        super().__init__()
        self.k = k
        self.answer = dspy.Predict(AnswerFromFacts)

    def forward(self, ask: Ask) -> dspy.Prediction:
        attributes = ask.persona.known() if ask.persona is not None else {}
        facts = relevant(attributes, ask.question, self.k)
        answer = self.answer(question=ask.question, facts="\n".join(facts), config=dict(ask.config or {})).answer
        return dspy.Prediction(answer=answer, retrieved=facts)
