"""The run manifest: what ran, on what, with which models, and what it cost. Written last, atomically."""

from __future__ import annotations

import hashlib
import importlib.metadata
import subprocess
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from persona.runs.cache import CallCounts

MANIFEST_VERSION = 1
PACKAGES = ("persona-testbed", "dspy", "litellm", "llama-cpp-python", "pydantic", "pandas", "numpy", "scipy")


class ModelRecord(BaseModel):
    model: str
    args: dict[str, Any] = Field(description="output-shaping LM arguments; never credentials")


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
    metrics: dict[str, Any]

    @classmethod
    def build(cls, calls: dict[str, CallCounts], **fields: Any) -> Manifest:
        """A manifest with the checkout, package versions and call totals filled in: the parts every run shares."""
        return cls(
            git_revision=git_revision(),
            packages=package_versions(),
            calls=calls,
            model_calls=sum(c.misses for c in calls.values()),
            cache_hits=sum(c.hits for c in calls.values()),
            **fields,
        )


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
