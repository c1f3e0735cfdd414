"""DPF revision: rewrite the generic answer along the critique, subtly and shorter: the "chosen" side."""

import dspy


class ReviseForPersona(dspy.Signature):
    """Rewrite the answer so that it follows the critique. The new answer must still answer the question,
    must be shorter than the original, and must stay subtle: never mention or allude to who the reader is,
    their demographics or any of their attributes; let the fit show only in what you say and how."""

    question: str = dspy.InputField(desc="the question being answered")
    answer: str = dspy.InputField(desc="the original answer")
    critique: str = dspy.InputField(desc="how the answer should change")
    revision: str = dspy.OutputField(desc="the rewritten answer, shorter than the original")
