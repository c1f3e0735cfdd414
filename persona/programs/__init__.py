"""DSPy programs composing the signatures: population, preferences, bench."""

from persona.programs.bench import BenchItem, PersonalizedResponder, RevisionJudge
from persona.programs.population import ConsistencyCheck, OpenEndedFiller, PersonaBuilder, sample_personas
from persona.programs.preferences import DPFPair

__all__ = [
    "BenchItem",
    "ConsistencyCheck",
    "DPFPair",
    "OpenEndedFiller",
    "PersonaBuilder",
    "PersonalizedResponder",
    "RevisionJudge",
    "sample_personas",
]
