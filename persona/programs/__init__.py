"""DSPy programs composing the signatures: population, preferences, bench."""

from persona.programs.bench import BenchItem, PersonalizedResponder, RevisionJudge
from persona.programs.population import sample_personas
from persona.programs.preferences import DPFPair

__all__ = ["BenchItem", "DPFPair", "PersonalizedResponder", "RevisionJudge", "sample_personas"]
