"""The run engine: specs and their kinds, the run session, run dirs, item logs, the LM cache and manifests.

The LM cache (``persona.runs.cache``) is not imported here: it loads DSPy, which a finished run never needs.

The experiments that plug into it live in ``persona.experiments``; their reports and figures in ``persona.reports``.
"""

from persona.runs.engine import Stopped, run_kind, run_spec
from persona.runs.executor import ItemError, ItemLog, LogCorruptError, Outcome, StageResult, run_items
from persona.runs.kinds import Kind, get_kind, kind_names
from persona.runs.manifest import CallCounts, Manifest
from persona.runs.records import Record, RecordError
from persona.runs.rundir import RunDirError, claim_run_dir
from persona.runs.session import RunStopped, Session
from persona.runs.spec import RunSection, SpecError, load_spec, quickstart_spec_path

__all__ = [
    "CallCounts",
    "ItemError",
    "ItemLog",
    "Kind",
    "LogCorruptError",
    "Manifest",
    "Outcome",
    "Record",
    "RecordError",
    "RunDirError",
    "RunSection",
    "RunStopped",
    "Session",
    "SpecError",
    "StageResult",
    "Stopped",
    "claim_run_dir",
    "get_kind",
    "kind_names",
    "load_spec",
    "quickstart_spec_path",
    "run_items",
    "run_kind",
    "run_spec",
]
