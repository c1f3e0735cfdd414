"""Summary analysis: which of the person's attributes did a summary of them leave out?"""

import dspy


class FindDroppedAttributes(dspy.Signature):
    """Compare a full description of a person, one attribute per line, with a short summary of them. List the
    names of the attributes whose information the summary does not carry, neither word for word nor in other
    words. Use the attribute names exactly as they appear before the colon."""

    persona: str = dspy.InputField(desc="the full description, one 'name: value' per line")
    summary: str = dspy.InputField(desc="the summary to compare")
    dropped: list[str] = dspy.OutputField(desc="names of the attributes the summary leaves out")
