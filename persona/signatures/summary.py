"""The bench's summary mode, step one: keep only what about the person bears on the question."""

import dspy


class SummarizeRelevantPersona(dspy.Signature):
    """Read the description of a person and the question they asked. Write a brief summary of only those parts
    of who they are that should shape a good answer to this question, leaving out everything else."""

    question: str = dspy.InputField(desc="the person's question")
    persona: str = dspy.InputField(desc="the person, one attribute per line")
    summary: str = dspy.OutputField(desc="the relevant parts of the person, in a sentence or two")
