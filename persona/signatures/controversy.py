"""Curation steps: does a question divide opinion, and which topic is it about?"""

import dspy


class JudgeControversy(dspy.Signature):
    """Decide whether a question invites genuinely different answers from different people, depending on their
    values, beliefs, culture or circumstances, rather than having one correct or broadly agreed answer."""

    question: str = dspy.InputField()
    reason: str = dspy.OutputField(desc="one sentence on why")
    diverse_opinions: bool = dspy.OutputField(
        desc="true if people with different values or backgrounds would want different answers"
    )


class AssignTopic(dspy.Signature):
    """Pick the one topic from the list that best describes what the question is about."""

    question: str = dspy.InputField()
    topics: list[str] = dspy.InputField(desc="the allowed topics")
    topic: str = dspy.OutputField(desc="exactly one topic copied from the list")
