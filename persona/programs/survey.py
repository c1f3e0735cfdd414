"""A survey item answered by a language model: as the respondent (role-play), or as nobody in particular (blind).

The answer is one of the item's options, constrained as the backend allows (a JSON-schema enum: the embedded model
cannot write anything else) and checked as it is parsed: an answer that is not an option (its label, or its code)
is re-asked, and after the re-asks it is an error for that item, never a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import dspy

from persona.programs.retrying import ReaskingPredict
from persona.signatures import AnswerSurvey, AnswerSurveyAsPersona


class SurveyAnswer(dspy.Module):
    """Pick one option of a survey item, as ``persona`` (role-play) or, with ``blind``, without any persona.

    Example:
        >>> SurveyAnswer()(question="More on parks?", options={"-1": "Too much", "1": "Too little"},
        ...                persona="age: 70").code  # doctest: +SKIP
    """

    def __init__(self, lm: dspy.LM | None = None, blind: bool = False) -> None:
        super().__init__()
        self.blind = blind
        self.answer = ReaskingPredict(AnswerSurvey if blind else AnswerSurveyAsPersona)
        self.answer.lm = lm

    def forward(self, question: str, options: Mapping[str, str], persona: str | None = None) -> dspy.Prediction:
        by_text = {label: code for code, label in options.items()}
        by_text |= {code: code for code in options if code not in by_text}  # a code is an answer too
        typed = self.answer.signature.with_updated_fields("choice", type_=Literal[tuple(by_text)])
        shown = "\n".join(options.values())
        inputs = {"question": question, "options": shown} | ({} if self.blind else {"persona": persona or ""})
        prediction = self.answer(signature=typed, **inputs)
        return dspy.Prediction(choice=prediction.choice, code=by_text[prediction.choice])
