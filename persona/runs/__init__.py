"""Run specs, execution, manifests and the run-dir cache."""

from persona.runs.cache import CallCounts, RunCache, run_cache
from persona.runs.execute import RunResult, plan_items, run, summarize
from persona.runs.manifest import Manifest
from persona.runs.spec import ROLES, RunSpec, SpecError, load_spec, quickstart_spec_path

__all__ = [
    "ROLES",
    "CallCounts",
    "Manifest",
    "RunCache",
    "RunResult",
    "RunSpec",
    "SpecError",
    "load_spec",
    "plan_items",
    "quickstart_spec_path",
    "run",
    "run_cache",
    "summarize",
]
