"""The run session: what every kind of run shares, so that an experiment brings only its own items, work, metrics
and report.

A session claims the run dir for one spec (and one process), logs to ``run.log`` with keys redacted, routes every
DSPy LM call through the run cache, builds one LM per role, runs stages of items through the executor (logged,
resumable, bounded by the failure limit across stages) and writes the report, then the manifest, last and
atomically. No experiment opens a cache, a log or a manifest itself.

The LMs, the cache and DSPy's settings are set up the first time a stage has an item to run (or a kind asks for
``lms``): a run with nothing left to ask replays from its item logs without importing DSPy, litellm or llama.cpp.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn, TypeVar

from persona.data.io import atomic_write_text
from persona.lm.config import ModelConfig
from persona.lm.secrets import secret_values
from persona.runs.executor import ItemLog, StageResult, run_items
from persona.runs.limits import RateLimiter
from persona.runs.logs import redact, run_log
from persona.runs.manifest import CallCounts, Manifest, Metrics, ModelRecord, add_calls, file_digest
from persona.runs.records import Record, stored
from persona.runs.rundir import claim_run_dir
from persona.runs.shards import (
    SHARD,
    Launcher,
    ShardError,
    ShardExit,
    ShardTask,
    StageCounts,
    calls_file,
    check_shardable,
    replica_stage,
    run_sharded,
    shard_config,
)
from persona.runs.spec import ExperimentSpec, run_fingerprint

if TYPE_CHECKING:
    from persona.lm.registry import RoleLM
    from persona.runs.cache import RunCache

T = TypeVar("T")
# What a stage's work is made from: the run's LMs by role -> the function that turns one item into its record
# (a dict the stage's Record checks, or that Record).
WorkMaker = Callable[[Mapping[str, "RoleLM"]], Callable[[T], "dict[str, Any] | Record"]]
logger = logging.getLogger(__name__)


class RunRecords(NamedTuple):
    """What a kind whose results are rows returns: its run dir, the rows it wrote, and the manifest."""

    run_dir: Path
    records: list[dict[str, Any]]
    manifest: Manifest


class Session:
    """One run of one spec into one run dir; use it as a context manager.

    Args:
        run_dir: where results, logs and the LM cache go.
        spec: what runs; its fingerprint claims the run dir (a dir of another spec is refused), and it, its seed
            and ``spec_path`` (where it came from) go into the manifest.
        models: the LM of each role; checked (key sources included) before anything is written, so a bad one
            leaves no trace, and built when first needed.
        concurrency: items in flight per stage.
        progress: a rich ``Progress`` to report on, or None.
        max_failures: failed items (over all stages) after which no new item starts.

    With ``[run] workers`` above 1 (or the Ray executor) each stage's items are sharded over worker processes or Ray
    tasks (see ``persona.runs.shards``); a session inside such a worker is a replica that runs its shard only.
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
        self.fingerprint = run_fingerprint(spec)
        self.shard = SHARD.get()  # set in a worker: this session replays the run and runs one shard
        if self.shard is not None:
            models = {role: shard_config(config, self.shard) for role, config in models.items()}
        self.models = dict(models)
        run = getattr(spec, "run", None)
        self.workers = run.workers if run is not None and self.shard is None else 1
        self.executor = run.executor if run is not None else "process"
        self.ray_address = run.ray_address if run is not None else None
        self.sharded = self.shard is None and (self.workers > 1 or self.executor == "ray")
        if self.sharded:
            check_shardable(self.workers, concurrency, self.models)
        if self.sharded and self.executor == "ray":
            from persona.runs.ray_executor import ray_module

            ray_module()  # missing Ray is bad input, found before anything is written
        self._call_args = {
            role: config.call_args() for role, config in self.models.items()
        }  # a bad key source fails here
        self.secrets = [secret for args in self._call_args.values() for secret in secret_values(args)]
        self.concurrency = concurrency
        self.progress = progress
        self.max_failures = max_failures
        self.stages: dict[str, StageResult] = {}
        self.cache: RunCache | None = None
        self._lms: dict[str, RoleLM] | None = None
        self._lms_lock = threading.Lock()
        self._worker_calls: dict[str, CallCounts] = {}
        self._ray: Any = None
        self._open = contextlib.ExitStack()

    def __enter__(self) -> Session:
        with contextlib.ExitStack() as stack:
            if self.shard is None:  # a worker's driver holds the claim
                stack.enter_context(claim_run_dir(self.run_dir, self.fingerprint))
            stack.enter_context(run_log(self.run_dir / "run.log", self.secrets))
            self._open = stack.pop_all()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._open.__exit__(kind, error, traceback)
        if self.shard is not None:  # the driver adds a worker's calls to the run's
            path = calls_file(self.run_dir, self.shard.stage, self.shard.index, os.getpid())
            counts = {role: c.model_dump() for role, c in self.calls().items()}
            atomic_write_text(path, json.dumps(counts))

    @property
    def lms(self) -> dict[str, RoleLM]:
        """The LM of each role, built on first use together with the run cache and DSPy's settings for the run.

        Call it from the thread that runs the stages: DSPy's settings are entered in its context, which the items'
        threads copy.
        """
        with self._lms_lock:
            if self._lms is None:
                self._lms = self._open_models()
            return self._lms

    def _open_models(self) -> dict[str, RoleLM]:
        import dspy

        from persona.lm.adapter import DescribedJSONAdapter
        from persona.lm.registry import make_lm
        from persona.runs.cache import run_cache

        lms = {role: make_lm(config, role, self._call_args[role]) for role, config in self.models.items()}
        limiters = {role: RateLimiter(config.rpm) for role, config in self.models.items() if config.rpm}
        self.cache = self._open.enter_context(run_cache(self.run_dir / "cache", limiters))
        # Per-call history is for interactive inspection; a batch run keeps its record in the item logs.
        self._open.enter_context(dspy.context(adapter=DescribedJSONAdapter(), disable_history=True))
        return lms

    def _build_work(self, make_work: WorkMaker[T], record: type[Record]) -> Callable[[T], dict[str, Any]]:
        work = make_work(self.lms)
        return lambda item: stored(record, work(item))

    def calls(self) -> dict[str, CallCounts]:
        """Cache lookups per role so far: this process's and those its shard workers counted."""
        return add_calls(self._worker_calls, self.cache.counts() if self.cache is not None else {})

    def describe_error(self, exc: BaseException | str) -> str:
        """An item's error message as recorded: keys never reach a record."""
        return redact(str(exc), self.secrets)

    @property
    def aborted(self) -> bool:
        """A stage stopped starting items at the failure limit."""
        return any(stage.aborted for stage in self.stages.values())

    def stage(
        self,
        name: str,
        items: Sequence[T],
        *,
        key: Callable[[T], str],
        make_work: WorkMaker[T],
        record: type[Record],
        label: str | None = None,
    ) -> StageResult:
        """Run the work over ``items`` as stage ``name`` (its item log is ``log/<name>.jsonl``); resumes a crashed run.

        ``make_work(lms)`` returns the function from one item to its record; it is called once, and only when some
        item is left to run, so a stage its log already holds builds no program and loads no model. Each record is
        checked against ``record`` as it is stored; one it does not describe fails its item. The failure
        limit counts the failures of every stage so far; after an aborted stage none runs. ``label`` names its progress
        bar (default: the stage's name).
        """
        label = label or name
        work = functools.partial(self._build_work, make_work, record)
        if self.shard is not None:
            result = replica_stage(items, name=name, key=key, task=self.shard, run=self._items_runner(key, work, label))
            self.stages[name] = result
            return result
        failed = sum(stage.failed for stage in self.stages.values())
        remaining = None if self.max_failures is None else max(1, self.max_failures - failed)
        if self.sharded:
            return self._sharded_stage(name, items, key, label, remaining)
        result = run_items(
            items,
            key=key,
            make_work=work,
            log=ItemLog(self.run_dir / "log" / f"{name}.jsonl"),
            concurrency=self.concurrency,
            label=label,
            progress=self.progress,
            max_failures=remaining,
            describe_error=self.describe_error,
        )
        self.stages[name] = result
        return result

    def _items_runner(
        self, key: Callable[[T], str], work: Callable[[], Callable[[T], dict[str, Any]]], label: str
    ) -> Callable[[list[T], ItemLog, Callable[[], bool]], StageResult]:
        """How a worker runs its shard: the threaded executor, its part of the concurrency, stopped by the driver."""

        def run(items: list[T], log: ItemLog, stop: Callable[[], bool]) -> StageResult:
            return run_items(
                items,
                key=key,
                make_work=work,
                log=log,
                concurrency=self.concurrency,
                label=label,
                describe_error=self.describe_error,
                stop=stop,
            )

        return run

    def _sharded_stage(
        self, name: str, items: Sequence[T], key: Callable[[T], str], label: str, remaining: int | None
    ) -> StageResult:
        task = ShardTask(
            spec=self.spec,
            run_dir=self.run_dir,
            spec_path=self.spec_path,
            stage=name,
            index=0,
            count=self.workers,
            concurrency=self.concurrency,
            finished={n: StageCounts(s.failed, s.not_run, s.resumed, s.aborted) for n, s in self.stages.items()},
            local_threads=max(1, (os.cpu_count() or 1) // self.workers),
        )
        outcome = run_sharded(
            items,
            name=name,
            key=key,
            task=task,
            launcher=self._launcher(),
            label=label,
            progress=self.progress,
            max_failures=remaining,
        )
        self._worker_calls = add_calls(self._worker_calls, outcome.calls)
        self.stages[name] = outcome.result
        if outcome.crashed:
            for crash in outcome.crashed:
                logger.error("worker %d of stage %s: %s", crash.index, name, self.describe_error(crash.detail))
            self.stop(
                f"{_crash_line(outcome.crashed, self.workers, name)}; {outcome.result.not_run} items did not run. "
                "What finished is kept: run the same command again to resume. Details are in run.log."
            )
        return outcome.result

    def _launcher(self) -> Launcher:
        """Process workers are started per stage; a Ray connection lasts the session."""
        if self.executor != "ray":
            from persona.runs.worker import ProcessLauncher

            return ProcessLauncher()
        if self._ray is None:
            from persona.runs.ray_executor import RayLauncher

            self._ray = RayLauncher(self.ray_address, self.workers)
            self._open.callback(self._ray.shutdown)
        return self._ray

    def stop(self, reason: str) -> NoReturn:
        """End a run that cannot go on to its results (a stage it needs failed, or stopped at the failure limit):
        write a report saying why and a manifest without metrics, then raise ``RunStopped``."""
        self._not_in_a_worker(f"stop ({reason})")
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

        ``failures`` counts failed or unstarted items per result file (default: each stage's failed and unstarted).
        """
        self._not_in_a_worker("finish")
        manifest = Manifest.build(**self._record(files, metrics, failures))
        atomic_write_text(self.run_dir / "report.md", report(manifest))
        atomic_write_text(self.run_dir / "manifest.json", manifest.model_dump_json(indent=2) + "\n")
        return manifest

    def _not_in_a_worker(self, what: str) -> None:
        """A replica ends at its stage; one that got further has diverged from its driver and must write nothing."""
        if self.shard is not None:
            raise ShardError(f"the replica of stage {self.shard.stage!r} reached {what}, which only the driver does")

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
            "calls": self.calls(),
            "failures": failures
            if failures is not None
            else {f"{n}.jsonl": s.failed + s.not_run for n, s in self.stages.items()},
            "resumed_items": {name: stage.resumed for name, stage in self.stages.items()},
            "aborted": self.aborted,
            "wall_time_s": round(time.perf_counter() - self.clock, 3),
            "started_at": self.started_at,
            "files": {name: file_digest(self.run_dir / name) for name in files},
            "metrics": metrics,
        }


def _crash_line(crashed: list[ShardExit], workers: int, stage: str) -> str:
    def how(code: int) -> str:
        return f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"

    ended = ", ".join(f"worker {c.index} ({how(c.code)})" for c in crashed)
    return f"{len(crashed)} of {workers} workers of stage {stage!r} ended without finishing: {ended}"


class RunStopped(Exception):  # noqa: N818 - a run that stopped, not a programming error
    """A run that ended before its results; ``manifest`` (also written to ``run_dir``) says what ran and failed."""

    def __init__(self, message: str, run_dir: Path, manifest: Manifest) -> None:
        super().__init__(message)
        self.run_dir, self.manifest = run_dir, manifest
