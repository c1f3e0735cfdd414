"""persona-testbed: census-grounded personas, DPF preference pairs and PERSONA Bench on any LM.

Importing the package must not touch the network: litellm (imported lazily by DSPy) otherwise fetches its model
cost map at import time, so the local copy is forced here, before anything imports it. The public names load on
first use, so that the command line starts without DSPy, litellm and pandas. Each kind of run adds its own names
(its spec, its metrics, the function that runs it and what its ``Kind`` exports), read from its registration.
"""

import importlib
import os
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

__version__ = "0.1.0"

# public name -> the module that defines it (":name" where it is called otherwise there)
_PUBLIC = {
    "ATTRIBUTES": "persona.data",
    "BenchItem": "persona.programs",
    "ConsistencyCheck": "persona.programs",
    "DEFAULT_MODEL": "persona.lm",
    "DPFPair": "persona.programs",
    "Estimate": "persona.metrics",
    "EstimateRecord": "persona.metrics",
    "Kind": "persona.runs",
    "Manifest": "persona.runs",
    "Metrics": "persona.runs.manifest",
    "ModelConfig": "persona.lm",
    "InputError": "persona.errors",
    "PersonaError": "persona.errors",
    "RunDirError": "persona.runs",
    "OneModelSpec": "persona.runs.spec",
    "Outcome": "persona.runs",
    "OpenEndedFiller": "persona.programs",
    "Persona": "persona.data",
    "PersonaBuilder": "persona.programs",
    "PersonalizedResponder": "persona.programs",
    "Answer": "persona.programs",
    "Ask": "persona.programs",
    "Responder": "persona.programs",
    "Prompt": "persona.data",
    "RevisionJudge": "persona.programs",
    "Role": "persona.lm",
    "RolesSpec": "persona.runs.spec",
    "RunStopped": "persona.runs",
    "Session": "persona.runs",
    "SpecError": "persona.runs",
    "StudyDesign": "persona.study",
    "agreement": "persona.experiments.agreement",
    "create_study": "persona.study",
    "export_study": "persona.study",
    "list_backends": "persona.lm",
    "load_annotations": "persona.experiments.agreement",
    "load_embedded_prompts": "persona.data",
    "load_source": "persona.data.sources",
    "load_spec": "persona.runs",
    "get_kind": "persona.runs",
    "kind_names": "persona.runs",
    "metrics_class": "persona.runs.spec",
    "make_lm": "persona.lm",
    "pass_rate": "persona.metrics",
    "read_personas": "persona.data",
    "read_pums": "persona.data",
    "run_spec": "persona.runs",
    "sample_personas": "persona.data.population",
    "write_jsonl": "persona.data.io",
}


def _kinds_public() -> dict[str, Any]:
    from persona.runs.kinds import get_kind, kind_names

    return {name: value for kind in kind_names() for name, value in get_kind(kind).public.items()}


def __getattr__(name: str) -> Any:
    if name == "__all__":
        return sorted([*_PUBLIC, *_kinds_public()])
    if name in _PUBLIC:
        module, _, attribute = _PUBLIC[name].partition(":")
        value = getattr(importlib.import_module(module), attribute or name)
    elif not name.startswith("_") and name in (kinds := _kinds_public()):
        value = kinds[name]
    else:
        raise AttributeError(f"module 'persona' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC, *_kinds_public()])
