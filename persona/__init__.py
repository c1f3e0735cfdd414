"""persona-testbed: census-grounded personas, DPF preference pairs and PERSONA Bench on any LM.

Importing the package must not touch the network: litellm (imported lazily by DSPy) otherwise fetches its model
cost map at import time, so the local copy is forced here, before anything imports it.
"""

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from persona.data import ATTRIBUTES, Persona, Prompt, load_embedded_prompts, read_personas, read_pums
from persona.data.sources import load_source
from persona.lm import DEFAULT_MODEL, ModelConfig, list_backends, make_lm
from persona.metrics import Estimate, pass_rate
from persona.programs import (
    BenchItem,
    ConsistencyCheck,
    DPFPair,
    OpenEndedFiller,
    PersonaBuilder,
    PersonalizedResponder,
    RevisionJudge,
    sample_personas,
)
from persona.runs import Manifest, PopulationSpec, RunResult, RunSpec, SpecError, generate_personas, load_spec, run
from persona.runs.agreement import agreement, load_annotations
from persona.runs.bench import BenchSpec, run_bench
from persona.runs.loo import LooSpec, run_loo
from persona.runs.passk import PassKSpec, run_passk

__version__ = "0.1.0"

__all__ = [
    "ATTRIBUTES",
    "DEFAULT_MODEL",
    "BenchItem",
    "BenchSpec",
    "ConsistencyCheck",
    "DPFPair",
    "Estimate",
    "LooSpec",
    "Manifest",
    "ModelConfig",
    "OpenEndedFiller",
    "PassKSpec",
    "Persona",
    "PersonaBuilder",
    "PersonalizedResponder",
    "PopulationSpec",
    "Prompt",
    "RevisionJudge",
    "RunResult",
    "RunSpec",
    "SpecError",
    "agreement",
    "generate_personas",
    "list_backends",
    "load_annotations",
    "load_embedded_prompts",
    "load_source",
    "load_spec",
    "make_lm",
    "pass_rate",
    "read_personas",
    "read_pums",
    "run",
    "run_bench",
    "run_loo",
    "run_passk",
    "sample_personas",
]
