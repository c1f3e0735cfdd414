"""DSPy programs composing the signatures: population, preferences, bench."""

from persona.programs.bench import (
    MODES,
    BenchItem,
    DroppedAttributes,
    PersonalizedResponder,
    RevisionJudge,
    RolePlayAnnotator,
    SubtletyJudge,
)
from persona.programs.population import ConsistencyCheck, OpenEndedFiller, PersonaBuilder, sample_personas
from persona.programs.preferences import DPFPair

__all__ = [
    "MODES",
    "BenchItem",
    "ConsistencyCheck",
    "DPFPair",
    "DroppedAttributes",
    "OpenEndedFiller",
    "PersonaBuilder",
    "PersonalizedResponder",
    "RevisionJudge",
    "RolePlayAnnotator",
    "SubtletyJudge",
    "sample_personas",
]
