"""The persona-blind answer: what a model says to everyone, the "rejected" side of a DPF pair."""

import dspy


class AnswerWithoutPersona(dspy.Signature):
    """Answer the user's question helpfully and honestly, as you would for any member of the public.
    Keep it brief: a few sentences at most."""

    question: str = dspy.InputField(desc="the user's question")
    answer: str = dspy.OutputField(desc="a short, direct answer")
