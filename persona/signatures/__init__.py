"""DSPy signatures, one per LLM step. Instructions are written in this project's own words."""

from persona.signatures.answer import AnswerWithoutPersona
from persona.signatures.consistency import CheckProfileConsistency
from persona.signatures.critique import CritiqueForPersona
from persona.signatures.dropped import FindDroppedAttributes
from persona.signatures.elicitation import AnswerFromConversation, AskOrAnswer, ReplyAsPersona
from persona.signatures.filling import DescribeAttribute
from persona.signatures.history import AnswerFromChoices
from persona.signatures.judge import JudgeNeedsRevision
from persona.signatures.personalize import PersonalizedAnswer
from persona.signatures.prediction import PredictPreference
from persona.signatures.preference import ChoosePreferred
from persona.signatures.revision import ReviseForPersona
from persona.signatures.subtlety import JudgeSubtlety
from persona.signatures.summary import SummarizeRelevantPersona
from persona.signatures.survey import AnswerSurvey, AnswerSurveyAsPersona

__all__ = [
    "AnswerFromChoices",
    "AnswerFromConversation",
    "AnswerSurvey",
    "AnswerSurveyAsPersona",
    "AnswerWithoutPersona",
    "AskOrAnswer",
    "CheckProfileConsistency",
    "ChoosePreferred",
    "CritiqueForPersona",
    "DescribeAttribute",
    "FindDroppedAttributes",
    "JudgeNeedsRevision",
    "JudgeSubtlety",
    "PersonalizedAnswer",
    "PredictPreference",
    "ReplyAsPersona",
    "ReviseForPersona",
    "SummarizeRelevantPersona",
]
