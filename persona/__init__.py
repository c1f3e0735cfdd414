"""persona-testbed: census-grounded personas, DPF preference pairs and PERSONA Bench on any LM.

Importing the package must not touch the network: litellm (imported lazily by DSPy) otherwise fetches its model
cost map at import time, so the local copy is forced here, before anything imports it. The public names load on
first use, so that the command line starts without DSPy, litellm and pandas.
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
    "BenchMetrics": "persona.experiments.bench",
    "BenchSpec": "persona.experiments.bench",
    "ConsistencyCheck": "persona.programs",
    "DEFAULT_MODEL": "persona.lm",
    "DPFPair": "persona.programs",
    "Estimate": "persona.metrics",
    "EstimateRecord": "persona.metrics",
    "LooMetrics": "persona.experiments.loo",
    "LooSpec": "persona.experiments.loo",
    "Manifest": "persona.runs",
    "ModelConfig": "persona.lm",
    "InputError": "persona.errors",
    "PersonaError": "persona.errors",
    "RunDirError": "persona.runs",
    "OpenEndedFiller": "persona.programs",
    "PassKMetrics": "persona.experiments.passk",
    "PassKSpec": "persona.experiments.passk",
    "Persona": "persona.data",
    "PersonaBuilder": "persona.programs",
    "PersonalizedResponder": "persona.programs",
    "PopulationSpec": "persona.experiments.personas",
    "Prompt": "persona.data",
    "RevisionJudge": "persona.programs",
    "Role": "persona.lm",
    "RunMetrics": "persona.experiments.quickstart",
    "RunResult": "persona.experiments.quickstart",
    "RunSpec": "persona.experiments.quickstart",
    "RunStopped": "persona.runs",
    "SpecError": "persona.runs",
    "StudyDesign": "persona.study",
    "agreement": "persona.experiments.agreement",
    "create_study": "persona.study",
    "export_study": "persona.study",
    "generate_personas": "persona.experiments.personas:generate",
    "list_backends": "persona.lm",
    "load_annotations": "persona.experiments.agreement",
    "load_embedded_prompts": "persona.data",
    "load_source": "persona.data.sources",
    "load_spec": "persona.runs",
    "metrics_class": "persona.runs.spec",
    "make_lm": "persona.lm",
    "pass_rate": "persona.metrics",
    "read_personas": "persona.data",
    "read_pums": "persona.data",
    "run": "persona.experiments.quickstart",
    "run_bench": "persona.experiments.bench",
    "run_loo": "persona.experiments.loo",
    "run_passk": "persona.experiments.passk",
    "run_spec": "persona.runs",
    "sample_personas": "persona.programs",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'persona' has no attribute {name!r}")
    module, _, attribute = _PUBLIC[name].partition(":")
    value = getattr(importlib.import_module(module), attribute or name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])
