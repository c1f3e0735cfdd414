"""An asking policy of your own, in its own module: always ask the one question that matters most, then answer.

The built-in policy decides turn by turn whether to ask more. This one asks a single fixed question whatever the
budget (nothing when the budget is 0), then answers from the reply with a DSPy predictor of its own, which runs on
the model under test through the run's cache. Run it through the same kind, judge and personas:

    persona bench elicit --asker examples.asker:OneQuestion --turns 0,1 --n 4 --questions 1
"""

from __future__ import annotations

import dspy

from persona.programs import Answer, Ask

QUESTION = "What matters most to you when you decide something like this?"


class AnswerWithPriority(dspy.Signature):
    """Answer the person's question in the way their stated priority calls for. Keep it short."""

    question: str = dspy.InputField(desc="the person's question")
    priority: str = dspy.InputField(desc="what they said matters most to them")
    answer: str = dspy.OutputField(desc="a short answer")


class OneQuestion:
    version = "1"  # its identity in the fingerprint: bump it when its behaviour changes

    def __init__(self) -> None:
        self.answer = dspy.Predict(AnswerWithPriority)

    def __call__(self, ask: Ask) -> Answer:
        if ask.context.get("turns", 0) < 1:
            priority = "(not asked)"
        else:
            priority = ask.context["ask_user"](QUESTION)
        return Answer(answer=self.answer(question=ask.question, priority=priority).answer)
