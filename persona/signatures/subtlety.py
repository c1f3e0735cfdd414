"""The second bench judge: does an answer give away that it was written for this person's attributes?"""

import dspy


class JudgeSubtlety(dspy.Signature):
    """Check whether an answer written for a particular person is subtle. It is not subtle if it names, quotes
    or plainly refers to the person's attributes (their age, job, religion, income, politics and so on, as in
    "as a 45-year-old nurse"). Tailoring the content without saying why is subtle."""

    question: str = dspy.InputField(desc="the person's question")
    persona: str = dspy.InputField(desc="the person, one attribute per line")
    answer: str = dspy.InputField(desc="the answer under review")
    named_attributes: str = dspy.OutputField(desc="the attributes the answer names or quotes, or 'none'")
    subtle: bool = dspy.OutputField(desc="true if the answer never names or quotes the person's attributes")
