"""DSPy programs composing the signatures: population, preferences, bench, and the responder and predictor
interfaces.

The names load on first use, so that naming a responder (``Ask``, ``load_responder``) or a predictor (``PairAsk``)
does not import DSPy.
"""

from typing import TYPE_CHECKING

from persona.lazy import lazy_names

if TYPE_CHECKING:
    from persona.programs.bench import BenchItem as BenchItem
    from persona.programs.bench import DroppedAttributes as DroppedAttributes
    from persona.programs.bench import PersonalizedResponder as PersonalizedResponder
    from persona.programs.bench import RevisionJudge as RevisionJudge
    from persona.programs.bench import RolePlayAnnotator as RolePlayAnnotator
    from persona.programs.bench import SubtletyJudge as SubtletyJudge
    from persona.programs.population import ConsistencyCheck as ConsistencyCheck
    from persona.programs.population import OpenEndedFiller as OpenEndedFiller
    from persona.programs.population import PersonaBuilder as PersonaBuilder
    from persona.programs.predictors import Choice as Choice
    from persona.programs.predictors import HistoryPair as HistoryPair
    from persona.programs.predictors import PairAsk as PairAsk
    from persona.programs.predictors import Predictor as Predictor
    from persona.programs.preferences import DPFPair as DPFPair
    from persona.programs.responders import MODES as MODES
    from persona.programs.responders import Answer as Answer
    from persona.programs.responders import Ask as Ask
    from persona.programs.responders import Responder as Responder
    from persona.programs.responders import load_responder as load_responder

_MODULES = {
    "persona.programs.bench": (
        "BenchItem",
        "DroppedAttributes",
        "PersonalizedResponder",
        "RevisionJudge",
        "RolePlayAnnotator",
        "SubtletyJudge",
    ),
    "persona.programs.population": ("ConsistencyCheck", "OpenEndedFiller", "PersonaBuilder"),
    "persona.programs.predictors": ("Choice", "HistoryPair", "PairAsk", "Predictor"),
    "persona.programs.preferences": ("DPFPair",),
    "persona.programs.responders": ("MODES", "Answer", "Ask", "Responder", "load_responder"),
}

__all__ = sorted(name for names in _MODULES.values() for name in names)


__getattr__, __dir__ = lazy_names(__name__, _MODULES)
