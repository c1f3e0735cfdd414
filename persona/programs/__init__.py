"""DSPy programs composing the signatures: population, preferences, bench."""

from persona.programs.bench import (
    MODES,
    DroppedAttributes,
    PersonalizedResponder,
    RevisionJudge,
    RolePlayAnnotator,
    SubtletyJudge,
)
from persona.programs.population import ConsistencyCheck, OpenEndedFiller, PersonaBuilder, sample_personas
from persona.programs.preferences import DPFPair
from persona.programs.responders import Answer, Ask, BenchItem, Responder, load_responder

__all__ = [
    "MODES",
    "Answer",
    "Ask",
    "BenchItem",
    "ConsistencyCheck",
    "DPFPair",
    "DroppedAttributes",
    "OpenEndedFiller",
    "PersonaBuilder",
    "PersonalizedResponder",
    "Responder",
    "RevisionJudge",
    "RolePlayAnnotator",
    "SubtletyJudge",
    "load_responder",
    "sample_personas",
]
