"""Writing one open-ended detail of a persona, consistent with everything already known about them."""

import dspy


class DescribeAttribute(dspy.Signature):
    """Write one detail of a fictional but realistic person's life, consistent with everything already known
    about them, concrete and particular to this person rather than generic, without repeating their other
    attributes."""

    person: str = dspy.InputField(desc="what is known about the person")
    request: str = dspy.InputField(desc="the detail to write")
    sentence: str = dspy.OutputField(desc="one or two sentences in the third person")
