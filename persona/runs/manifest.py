"""The run manifest: what ran, on what, with which models, and what it cost. Written last, atomically."""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import subprocess
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, model_validator

from persona.runs.kinds import get_kind

logger = logging.getLogger(__name__)
M = TypeVar("M", bound="Metrics")

MANIFEST_VERSION = 1
PACKAGES = ("persona-testbed", "dspy", "litellm", "llama-cpp-python", "pydantic", "pandas", "numpy", "scipy")


class CallCounts(BaseModel):
    """Cache hits and misses for one role; every miss is one model invocation."""

    hits: int = 0
    misses: int = 0


def add_calls(*counts: dict[str, CallCounts]) -> dict[str, CallCounts]:
    """Lookups counted in several places (a process and its shard workers) summed per role, roles in order."""
    totals: dict[str, CallCounts] = {}
    for table in counts:
        for role, more in table.items():
            total = totals.setdefault(role, CallCounts())
            totals[role] = CallCounts(hits=total.hits + more.hits, misses=total.misses + more.misses)
    return dict(sorted(totals.items()))


class Metrics(BaseModel):
    """Base of every kind's run-level metrics: each kind documents its fields, and unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")


class ModelRecord(BaseModel):
    model: str
    args: dict[str, Any] = Field(description="output-shaping LM arguments; never credentials")


class Session(BaseModel):
    """One finished invocation of a run dir: a replay costs nothing, the first run what it cost."""

    started_at: str
    model_calls: int
    cache_hits: int
    wall_time_s: float


class Manifest(BaseModel):
    manifest_version: int = MANIFEST_VERSION
    spec: dict[str, Any]
    spec_path: str | None
    git_revision: str | None
    packages: dict[str, str | None]
    models: dict[str, ModelRecord]
    seed: int
    concurrency: int
    calls: dict[str, CallCounts] = Field(description="LM cache lookups per role; misses are model invocations")
    model_calls: int
    cache_hits: int
    failures: dict[str, int] = Field(description="failed or unstarted items, per result file")
    resumed_items: dict[str, int] = Field(description="items per stage already finished by an earlier run")
    aborted: bool = Field(description="the run stopped starting items at its failure limit")
    wall_time_s: float
    started_at: str
    files: dict[str, str] = Field(description="result file -> sha256 of its bytes")
    metrics: SerializeAsAny[Metrics] | None = Field(
        description="the kind's typed metrics (see its spec's module); None for a run that stopped before them"
    )
    sessions: list[Session] = Field(
        default_factory=list, description="every finished invocation of this run dir, oldest first; the last is this"
    )

    @model_validator(mode="before")
    @classmethod
    def _typed_metrics(cls, data: Any) -> Any:
        # Read back from JSON, the metrics become the run kind's own model again, checked field by field.
        if isinstance(data, dict) and isinstance(data.get("metrics"), dict):
            kind = (data.get("spec") or {}).get("kind", "quickstart")
            data = {**data, "metrics": get_kind(kind).metrics.model_validate(data["metrics"])}
        return data

    def results(self, metrics: type[M]) -> M:
        """The metrics of a finished run, as its kind's own model (what a kind's report and summary read)."""
        if not isinstance(self.metrics, metrics):
            raise TypeError(f"a {self.kind} run's metrics are {type(self.metrics).__name__}, not {metrics.__name__}")
        return self.metrics

    @property
    def kind(self) -> str:
        """The kind of run (``quickstart`` for a spec file without one)."""
        return self.spec.get("kind", "quickstart")

    @classmethod
    def build(cls, run_dir: Path, calls: dict[str, CallCounts], **fields: Any) -> Manifest:
        """A manifest with the checkout, package versions and call totals filled in: the parts every run shares.

        The sessions of the manifest already in ``run_dir`` are carried over, so a replay adds its own cost to the
        original run's instead of replacing it.
        """
        manifest = cls(
            git_revision=git_revision(),
            packages=package_versions(),
            calls=calls,
            model_calls=sum(c.misses for c in calls.values()),
            cache_hits=sum(c.hits for c in calls.values()),
            **fields,
        )
        session = Session(
            started_at=manifest.started_at,
            model_calls=manifest.model_calls,
            cache_hits=manifest.cache_hits,
            wall_time_s=manifest.wall_time_s,
        )
        manifest.sessions = [*previous_sessions(Path(run_dir) / "manifest.json"), session]
        return manifest

    @property
    def total_model_calls(self) -> int:
        return sum(s.model_calls for s in self.sessions) if self.sessions else self.model_calls

    @property
    def total_wall_time_s(self) -> float:
        return sum(s.wall_time_s for s in self.sessions) if self.sessions else self.wall_time_s

    @property
    def exit_code(self) -> int:
        """The run's exit status: 0 every item succeeded, 1 some failed (each recorded), 3 stopped at the limit."""
        if self.aborted:
            return 3
        return 1 if any(self.failures.values()) else 0

    def calls_line(self) -> str:
        """``cost_line`` followed by the calls and cache hits of each role in this session."""
        roles = ", ".join(
            f"{role} {self.calls.get(role, CallCounts()).misses}/{self.calls.get(role, CallCounts()).hits}"
            for role in self.models
        )
        return f"{self.cost_line()} Per role, calls/hits this session: {roles}."

    def cost_line(self) -> str:
        """What this invocation cost and, after a resume or replay, what every invocation of the run dir cost."""
        line = f"LM: {self.model_calls} model calls, {self.cache_hits} cache hits; {self.wall_time_s:.1f} s"
        if len(self.sessions) > 1:
            line += (
                f" (this session). Over all {len(self.sessions)} sessions of this run dir: "
                f"{self.total_model_calls} model calls, {self.total_wall_time_s:.1f} s"
            )
        return line + "."


def previous_sessions(path: Path) -> list[Session]:
    """The sessions recorded by an earlier manifest (one, for a manifest written before sessions were kept)."""
    if not path.is_file():
        return []
    try:
        earlier = Manifest.model_validate_json(path.read_bytes())
    except ValueError as exc:
        logger.warning("%s: unreadable (%s); earlier sessions' cost is not carried over", path, exc)
        return []
    if earlier.sessions:
        return earlier.sessions
    return [Session(**earlier.model_dump(include={"started_at", "model_calls", "cache_hits", "wall_time_s"}))]


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_revision() -> str | None:
    """The checkout this package runs from, with ``+dirty`` for uncommitted changes; None outside git."""
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}+dirty" if dirty else head


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
