"""persona-testbed: census-grounded personas, DPF preference pairs and PERSONA Bench on any LM.

Importing the package must not touch the network: litellm (imported lazily by DSPy) otherwise fetches its model
cost map at import time, so the local copy is forced here, before anything imports it. The public names load on
first use, so that the command line starts without DSPy, litellm and pandas. Each kind of run adds its own names
(its spec, its metrics, the function that runs it and what its ``Kind`` exports), read from its registration.
"""

import os
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from persona.lazy import lazy_names  # after the cost-map setting, which must precede any import

__version__ = "0.1.0"

# defining module -> the public names it gives
_MODULES = {
    "persona.data": ("ATTRIBUTES", "Persona", "Prompt", "load_embedded_prompts", "read_personas", "read_pums"),
    "persona.data.io": ("write_jsonl",),
    "persona.data.population": ("sample_personas",),
    "persona.data.sources": ("load_source",),
    "persona.errors": ("InputError", "PersonaError"),
    "persona.experiments.agreement": ("agreement", "load_annotations"),
    "persona.lm": ("DEFAULT_MODEL", "ModelConfig", "Role", "list_backends", "make_lm"),
    "persona.metrics": ("Estimate", "EstimateRecord", "pass_rate"),
    "persona.programs": (
        "Answer",
        "Ask",
        "BenchItem",
        "Choice",
        "ConsistencyCheck",
        "DPFPair",
        "HistoryPair",
        "OpenEndedFiller",
        "PairAsk",
        "PersonaBuilder",
        "PersonalizedResponder",
        "Predictor",
        "Responder",
        "RevisionJudge",
    ),
    "persona.runs": (
        "Kind",
        "Manifest",
        "Outcome",
        "Record",
        "RunDirError",
        "RunStopped",
        "Session",
        "SpecError",
        "get_kind",
        "kind_names",
        "load_spec",
        "run_spec",
    ),
    "persona.runs.manifest": ("Metrics",),
    "persona.runs.spec": ("OneModelSpec", "RolesSpec", "metrics_class"),
    "persona.study": ("StudyDesign", "create_study", "export_study"),
}


def _kinds_public() -> dict[str, Any]:
    from persona.runs.kinds import get_kind, kind_names

    return {name: value for kind in kind_names() for name, value in get_kind(kind).public.items()}


_module_names, _ = lazy_names(__name__, _MODULES)
_PUBLIC = [name for names in _MODULES.values() for name in names]


def __getattr__(name: str) -> Any:
    if name == "__all__":
        return sorted([*_PUBLIC, *_kinds_public()])
    if name in _PUBLIC:
        return _module_names(name)
    if not name.startswith("_") and name in (kinds := _kinds_public()):
        globals()[name] = kinds[name]
        return kinds[name]
    raise AttributeError(f"module 'persona' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC, *_kinds_public()])
