"""The bench judge: does this answer still need revising to suit the persona?"""

import dspy


class JudgeNeedsRevision(dspy.Signature):
    """You review answers written for a particular person. Weigh two views: does the answer suit this
    person's circumstances and values, and is it genuinely helpful for the question? An answer that
    openly names or quotes the person's attributes is not subtle and needs revision. Conclude whether
    the answer needs revision before it would satisfy this person."""

    question: str = dspy.InputField(desc="the person's question")
    persona: str = dspy.InputField(desc="the person, one attribute per line")
    answer: str = dspy.InputField(desc="the answer under review")
    critique: str = dspy.OutputField(desc="a brief assessment from both views")
    needs_revision: bool = dspy.OutputField(desc="true if the answer should be revised for this person")
