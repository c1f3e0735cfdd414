"""Run specs, execution, manifests and the run-dir cache."""

from persona.runs.cache import CallCounts, RunCache, run_cache
from persona.runs.execute import RunResult, plan_items, run, summarize
from persona.runs.executor import ItemLog, LogCorruptError, StageResult, run_items
from persona.runs.manifest import Manifest
from persona.runs.population import PopulationSpec
from persona.runs.population import generate as generate_personas
from persona.runs.rundir import RunDirError, claim_run_dir
from persona.runs.session import Session
from persona.runs.spec import KINDS, ROLES, RunSpec, SpecError, load_spec, quickstart_spec_path, run_spec

__all__ = [
    "KINDS",
    "ROLES",
    "CallCounts",
    "ItemLog",
    "LogCorruptError",
    "Manifest",
    "PopulationSpec",
    "RunCache",
    "RunDirError",
    "RunResult",
    "RunSpec",
    "Session",
    "SpecError",
    "StageResult",
    "claim_run_dir",
    "generate_personas",
    "load_spec",
    "plan_items",
    "quickstart_spec_path",
    "run",
    "run_cache",
    "run_items",
    "run_spec",
    "summarize",
]
