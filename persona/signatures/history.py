"""The answer a model under test gives when all it knows of the person is what they chose before."""

import dspy


class AnswerFromChoices(dspy.Signature):
    """You do not know who is asking, only which of two answers they preferred to some earlier questions. Work
    out from those choices what this person values and how they like to be answered, then answer their new
    question that way. Do not mention the earlier questions or the choices. Keep it short."""

    choices: str = dspy.InputField(desc="the person's earlier questions, the answer they preferred and the other")
    question: str = dspy.InputField(desc="the person's new question")
    answer: str = dspy.OutputField(desc="a short answer that suits this person")
