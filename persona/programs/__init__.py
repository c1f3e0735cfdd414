"""DSPy programs composing the signatures: population, preferences, bench, and the responder interface.

The names load on first use, so that naming a responder (``Ask``, ``load_responder``) does not import DSPy.
"""

import importlib
from typing import TYPE_CHECKING, Any

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
    from persona.programs.preferences import DPFPair as DPFPair
    from persona.programs.responders import MODES as MODES
    from persona.programs.responders import Answer as Answer
    from persona.programs.responders import Ask as Ask
    from persona.programs.responders import Responder as Responder
    from persona.programs.responders import load_responder as load_responder

_PUBLIC = {
    "BenchItem": "persona.programs.bench",
    "DroppedAttributes": "persona.programs.bench",
    "PersonalizedResponder": "persona.programs.bench",
    "RevisionJudge": "persona.programs.bench",
    "RolePlayAnnotator": "persona.programs.bench",
    "SubtletyJudge": "persona.programs.bench",
    "ConsistencyCheck": "persona.programs.population",
    "OpenEndedFiller": "persona.programs.population",
    "PersonaBuilder": "persona.programs.population",
    "DPFPair": "persona.programs.preferences",
    "MODES": "persona.programs.responders",
    "Answer": "persona.programs.responders",
    "Ask": "persona.programs.responders",
    "Responder": "persona.programs.responders",
    "load_responder": "persona.programs.responders",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'persona.programs' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])
