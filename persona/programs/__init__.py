"""DSPy programs composing the signatures: population, preferences, bench."""

from persona.programs.bench import MODES, BenchItem, PersonalizedResponder, RevisionJudge, SubtletyJudge
from persona.programs.population import ConsistencyCheck, OpenEndedFiller, PersonaBuilder, sample_personas
from persona.programs.preferences import DPFPair

__all__ = [
    "MODES",
    "BenchItem",
    "ConsistencyCheck",
    "DPFPair",
    "OpenEndedFiller",
    "PersonaBuilder",
    "PersonalizedResponder",
    "RevisionJudge",
    "SubtletyJudge",
    "sample_personas",
]
