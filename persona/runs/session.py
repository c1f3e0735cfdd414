"""The run session: what every kind of run shares, so that an experiment brings only its own items, work, metrics
and report.

A session claims the run dir for one spec (and one process), logs to ``run.log`` with keys redacted, routes every
DSPy LM call through the run cache, builds one LM per role, runs stages of items through the executor (logged,
resumable, bounded by the failure limit across stages) and writes the report, then the manifest, last and
atomically. No experiment opens a cache, a log or a manifest itself.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn, Protocol, TypeVar

import dspy

from persona.data.io import atomic_write_text
from persona.lm import ModelConfig, RoleLM, lm_secrets, make_lm
from persona.lm.adapter import DescribedJSONAdapter
from persona.runs.cache import RunCache, run_cache
from persona.runs.executor import ItemLog, StageResult, run_items
from persona.runs.limits import RateLimiter
from persona.runs.logs import redact, run_log
from persona.runs.manifest import Manifest, Metrics, ModelRecord, file_digest
from persona.runs.rundir import claim_run_dir

T = TypeVar("T")


class ExperimentSpec(Protocol):
    """What the engine needs of an experiment's spec (``models`` too, unless the caller names the LMs)."""

    out: Path | None
    seed: int

    def model_dump(self, **kwargs: Any) -> dict[str, Any]: ...

    def fingerprint(self) -> str: ...

    def default_dir(self) -> Path: ...


class Session:
    """One run of one spec into one run dir; use it as a context manager.

    Args:
        run_dir: where results, logs and the LM cache go.
        spec: what runs; its fingerprint claims the run dir (a dir of another spec is refused), and it, its seed
            and ``spec_path`` (where it came from) go into the manifest.
        models: the LM of each role; built before anything is written, so a bad model string leaves no trace.
        concurrency: items in flight per stage.
        progress: a rich ``Progress`` to report on, or None.
        max_failures: failed items (over all stages) after which no new item starts.
    """

    def __init__(
        self,
        run_dir: Path,
        spec: ExperimentSpec,
        models: Mapping[str, ModelConfig],
        *,
        concurrency: int = 1,
        progress: Any = None,
        max_failures: int | None = None,
        spec_path: Path | None = None,
    ) -> None:
        self.clock = time.perf_counter()
        self.spec, self.spec_path = spec, spec_path
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self.run_dir = Path(run_dir)
        self.fingerprint = spec.fingerprint()
        self.models = dict(models)
        self.lms: dict[str, RoleLM] = {role: make_lm(config, role) for role, config in self.models.items()}
        self.secrets = lm_secrets(self.lms.values())
        self.concurrency = concurrency
        self.progress = progress
        self.max_failures = max_failures
        self.stages: dict[str, StageResult] = {}
        self.cache: RunCache | None = None
        self._open = contextlib.ExitStack()

    @classmethod
    def for_spec(
        cls,
        spec: ExperimentSpec,
        out: Path | None,
        roles: Iterable[str] | None = None,
        models: Mapping[str, ModelConfig] | None = None,
        **options: Any,
    ) -> Session:
        """A session for ``spec`` into ``out`` (default: its ``out``, else its own dir).

        The LMs are ``models`` when given (specs with one ``model``), else the spec's roles (``roles``, default all).
        """
        if models is None:
            models = spec.models if roles is None else {role: spec.models[role] for role in roles}
        return cls(Path(out or spec.out or spec.default_dir()), spec, models, **options)

    def __enter__(self) -> Session:
        limiters = {role: RateLimiter(config.rpm) for role, config in self.models.items() if config.rpm}
        with contextlib.ExitStack() as stack:
            stack.enter_context(claim_run_dir(self.run_dir, self.fingerprint))
            stack.enter_context(run_log(self.run_dir / "run.log", self.secrets))
            self.cache = stack.enter_context(run_cache(self.run_dir / "cache", limiters))
            # Per-call history is for interactive inspection; a batch run keeps its record in the item logs.
            stack.enter_context(dspy.context(adapter=DescribedJSONAdapter(), disable_history=True))
            self._open = stack.pop_all()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._open.__exit__(kind, error, traceback)

    def describe_error(self, exc: BaseException) -> str:
        """An item's error message as recorded: keys never reach a record."""
        return redact(str(exc), self.secrets)

    @property
    def aborted(self) -> bool:
        """A stage stopped starting items at the failure limit."""
        return any(stage.aborted for stage in self.stages.values())

    def stage(
        self, name: str, items: Sequence[T], *, key: Callable[[T], str], work: Callable[[T], dict[str, Any]], label: str
    ) -> StageResult:
        """Run ``work`` over ``items`` as stage ``name`` (its item log is ``log/<name>.jsonl``); resumes a crashed run.

        The failure limit counts the failures of every stage so far; after an aborted stage none runs.
        """
        failed = sum(stage.failed for stage in self.stages.values())
        remaining = None if self.max_failures is None else max(1, self.max_failures - failed)
        result = run_items(
            items,
            key=key,
            work=work,
            log=ItemLog(self.run_dir / "log" / f"{name}.jsonl"),
            concurrency=self.concurrency,
            label=label,
            progress=self.progress,
            max_failures=remaining,
            describe_error=self.describe_error,
        )
        self.stages[name] = result
        return result

    def stop(self, reason: str) -> NoReturn:
        """End a run that cannot go on to its results (a stage it needs failed, or stopped at the failure limit):
        write a report saying why and a manifest without metrics, then raise ``RunStopped``."""
        manifest = Manifest.build(**self._record(files=[], metrics=None))
        text = f"# Run stopped before its results\n\n{reason}\n\n{manifest.cost_line()}\n"
        atomic_write_text(self.run_dir / "report.md", text)
        atomic_write_text(self.run_dir / "manifest.json", manifest.model_dump_json(indent=2) + "\n")
        raise RunStopped(f"{self.run_dir}: {reason}", self.run_dir, manifest)

    def finish(
        self,
        *,
        files: list[str],
        metrics: Metrics,
        report: Callable[[Manifest], str],
        failures: dict[str, int] | None = None,
    ) -> Manifest:
        """Write ``report.md``, then the manifest (last, atomically); ``files`` are the result files it digests.

        ``failures`` counts failed or unstarted items per result file (default: each stage's failed items).
        """
        manifest = Manifest.build(**self._record(files, metrics, failures))
        atomic_write_text(self.run_dir / "report.md", report(manifest))
        atomic_write_text(self.run_dir / "manifest.json", manifest.model_dump_json(indent=2) + "\n")
        return manifest

    def _record(
        self, files: list[str], metrics: Metrics | None, failures: dict[str, int] | None = None
    ) -> dict[str, Any]:
        """The manifest's fields: what ran, on what, what it cost, which items failed."""
        return {
            "run_dir": self.run_dir,
            "spec": self.spec.model_dump(mode="json"),
            "spec_path": str(self.spec_path) if self.spec_path else None,
            "models": {role: ModelRecord(model=c.model, args=c.lm_args()) for role, c in self.models.items()},
            "seed": self.spec.seed,
            "concurrency": self.concurrency,
            "calls": self.cache.counts() if self.cache is not None else {},
            "failures": failures if failures is not None else {f"{n}.jsonl": s.failed for n, s in self.stages.items()},
            "resumed_items": {name: stage.resumed for name, stage in self.stages.items()},
            "aborted": self.aborted,
            "wall_time_s": round(time.perf_counter() - self.clock, 3),
            "started_at": self.started_at,
            "files": {name: file_digest(self.run_dir / name) for name in files},
            "metrics": metrics,
        }


class RunStopped(Exception):  # noqa: N818 - a run that stopped, not a programming error
    """A run that ended before its results; ``manifest`` (also written to ``run_dir``) says what ran and failed."""

    def __init__(self, message: str, run_dir: Path, manifest: Manifest) -> None:
        super().__init__(message)
        self.run_dir, self.manifest = run_dir, manifest
