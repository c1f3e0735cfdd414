"""A survey question answered by choosing one of its options: as a given person, and as nobody in particular."""

import dspy


class AnswerSurveyAsPersona(dspy.Signature):
    """You are the person described below, taking part in a survey. Read the question and pick the one option
    this person would most likely choose, judging from who they are, not from what you think is right. Give the
    option exactly as it is written."""

    persona: str = dspy.InputField(desc="who you are: one 'attribute: value' per line")
    question: str = dspy.InputField(desc="the survey question")
    options: str = dspy.InputField(desc="the options, one per line")
    choice: str = dspy.OutputField(desc="the option this person picks, exactly as written")


class AnswerSurvey(dspy.Signature):
    """You are taking part in a survey. Read the question and pick the one option you would choose. Give the
    option exactly as it is written."""

    question: str = dspy.InputField(desc="the survey question")
    options: str = dspy.InputField(desc="the options, one per line")
    choice: str = dspy.OutputField(desc="the option you pick, exactly as written")
