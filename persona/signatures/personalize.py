"""The personalised answer a model under test gives when it knows who is asking."""

import dspy


class PersonalizedAnswer(dspy.Signature):
    """Answer the question for the person described. Tailor what you say to their situation and values,
    but do it quietly: never name, quote or hint at their attributes. Keep it short."""

    question: str = dspy.InputField(desc="the person's question")
    persona: str = dspy.InputField(desc="who is asking, one attribute per line")
    answer: str = dspy.OutputField(desc="a short answer that suits this person without saying why")
