"""Sharded stages: a stage's items split over worker processes or Ray tasks, with the guarantees of one process.

A worker is a replica of the run. It runs the same experiment on the same spec in the same run dir, its session in
worker mode: stages the driver has finished it reads back from their item logs, as a resume does, with no model
call; at the stage it was started for, it runs its shard (every ``count``-th item from ``index``) of the items not
yet done, into a log of its own, and stops. The driver shows one progress bar from those logs, tells every shard to
stop at the run's failure limit, and merges the shard logs into the stage's log. Since the driver and its replicas
derive the same items from the same spec and logs, the results are a one-process run's, byte for byte. All of them
use the run dir's one LM cache: SQLite keeps it whole under many writer processes (``benchmarks/cache_writers.py``).
"""

from __future__ import annotations

import contextlib
import contextvars
import fcntl
import glob
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from persona.errors import InputError
from persona.lm.config import ModelConfig
from persona.runs.executor import ItemLog, StageResult, outcomes
from persona.runs.manifest import CallCounts, add_calls

POLL_S = 0.1  # how often the driver looks at the shard logs: the lag of the progress bar and of the failure limit
STALE_WAIT_S = 120.0


class StageCounts(NamedTuple):
    """What a finished stage's ``StageResult`` holds besides its entries, which the replicas read from the log."""

    failed: int
    not_run: int
    resumed: int
    aborted: bool


@dataclass(frozen=True)
class ShardTask:
    """What a worker needs to replay the run up to ``stage`` and run its shard of it; sent pickled, never written."""

    spec: Any
    run_dir: Path
    spec_path: Path | None
    stage: str
    index: int
    count: int
    concurrency: int
    finished: dict[str, StageCounts]  # the stages the driver has finished in this session
    local_threads: int  # llama.cpp threads for an embedded model: the worker's share of the cores


class ShardExit(NamedTuple):
    index: int  # type: ignore[assignment]  # a field, where tuple has a method of that name
    code: int  # 0: the shard finished (its failed items are in its log); else the worker died or raised
    detail: str


class ShardDone(BaseException):
    """Raised in a worker once its shard is done, to end the replica there (past any ``except Exception``)."""


class ShardError(InputError):
    """A worker that could not replay the run (its spec or inputs differ from the driver's)."""


SHARD: contextvars.ContextVar[ShardTask | None] = contextvars.ContextVar("persona_shard", default=None)


def share(total: int, index: int, count: int) -> int:
    """Shard ``index``'s part of ``total`` (items in flight, a role's concurrency), the parts summing to ``total``."""
    return total // count + (index < total % count)


def shard_config(config: ModelConfig, task: ShardTask) -> ModelConfig:
    """A role's backend as one shard sees it: its part of the run's ``rpm`` and ``max_concurrency``."""
    update: dict[str, Any] = {}
    if config.rpm:
        update["rpm"] = config.rpm / task.count
    if config.max_concurrency:
        update["max_concurrency"] = share(config.max_concurrency, task.index, task.count)
    return config.model_copy(update=update)


def check_shardable(workers: int, concurrency: int, models: dict[str, ModelConfig]) -> None:
    """Refuse a split that would break a whole-run limit: every worker needs one item and one request in flight."""
    if workers > concurrency:
        raise InputError(
            f"run.workers ({workers}) is more than run.concurrency ({concurrency}): each worker needs at least one "
            "item in flight; raise --concurrency or lower --workers"
        )
    for role, config in models.items():
        if config.max_concurrency is not None and config.max_concurrency < workers:
            raise InputError(
                f"models.{role}.max_concurrency ({config.max_concurrency}) is below run.workers ({workers}): the "
                "limit holds for the whole run, and each worker needs one request in flight"
            )


def stage_log(run_dir: Path, stage: str) -> Path:
    return run_dir / "log" / f"{stage}.jsonl"


def shard_log(run_dir: Path, stage: str, index: int) -> Path:
    return run_dir / "log" / f"{stage}.shard-{index}.jsonl"


def stop_flag(run_dir: Path, stage: str) -> Path:
    """A file whose presence tells every shard of ``stage`` to start no more items (the failure limit is reached)."""
    return run_dir / "log" / f"{stage}.stop"


def calls_file(run_dir: Path, stage: str, index: int, pid: int) -> Path:
    return run_dir / "log" / f"{stage}.shard-{index}.calls-{pid}.json"


def _shard_files(run_dir: Path, stage: str, pattern: str) -> list[Path]:
    return sorted((run_dir / "log").glob(f"{glob.escape(stage)}.shard-{pattern}"))


def merge_shard_logs(run_dir: Path, stage: str) -> dict[str, dict[str, Any]]:
    """Append what the shard logs of ``stage`` hold to the stage's log, synced, then delete them; returns it.

    Shard logs left by a run killed mid-stage are merged the same way when the stage starts again. A crash during
    the merge leaves entries in both places, which is harmless: the later line of a key is the one that counts.
    """
    paths = _shard_files(run_dir, stage, "*.jsonl")
    entries: dict[str, dict[str, Any]] = {}
    for path in paths:
        entries.update(ItemLog(path).load())
    ItemLog(stage_log(run_dir, stage)).extend(entries)
    for path in paths:
        path.unlink()
    return entries


def collect_calls(run_dir: Path, stage: str) -> dict[str, CallCounts]:
    """The cache lookups the workers of ``stage`` counted (each writes its own file as it ends), summed per role."""
    found: list[dict[str, CallCounts]] = []
    for path in _shard_files(run_dir, stage, "*.calls-*.json"):
        with contextlib.suppress(OSError, ValueError):
            found.append({role: CallCounts(**counts) for role, counts in json.loads(path.read_text()).items()})
        path.unlink(missing_ok=True)
    return add_calls(*found)


@contextlib.contextmanager
def worker_lock(run_dir: Path, exclusive: bool) -> Iterator[None]:
    """Workers hold this shared while they run; the driver takes it exclusive before starting any, so no worker of an
    earlier, killed driver is still asking the backend when new ones start."""
    path = run_dir / ".workers.lock"
    with open(path, "a+") as handle:
        if not exclusive:
            fcntl.flock(handle, fcntl.LOCK_SH)
            yield
            return
        deadline = time.monotonic() + STALE_WAIT_S
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise InputError(
                        f"{run_dir}: workers of an earlier run still hold it after {STALE_WAIT_S:.0f} s; stop them "
                        "(they are `persona.runs.worker` processes) and run again"
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Launcher(Protocol):
    """Starts shard tasks somewhere (processes here, Ray tasks) and says when all have ended."""

    def start(self, tasks: Sequence[ShardTask]) -> None: ...

    def poll(self) -> list[ShardExit] | None:
        """None while any task runs; then how each ended."""
        ...

    def close(self) -> None:
        """Stop whatever still runs (the driver is failing) and release what ``start`` took."""
        ...


class LogTail:
    """The entries a worker appended to its shard log since the last look (whole lines only)."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset = path, 0

    def read(self) -> list[dict[str, Any]]:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n") + 1
        self.offset += end
        entries = []
        for line in data[:end].splitlines():
            with contextlib.suppress(ValueError, KeyError, TypeError):
                entries.append(json.loads(line)["entry"])
        return entries


class ShardedStage(NamedTuple):
    result: StageResult
    calls: dict[str, CallCounts]
    crashed: list[ShardExit]


def run_sharded(
    items: Sequence[Any],
    *,
    name: str,
    key: Callable[[Any], str],
    task: ShardTask,
    launcher: Launcher,
    label: str,
    progress: Any = None,
    max_failures: int | None = None,
) -> ShardedStage:
    """Run stage ``name`` as ``task.count`` shards through ``launcher``; ``task`` is shard 0's, the others differ in
    ``index`` (and their part of the concurrency). Same result shape and semantics as ``run_items``."""
    run_dir, count = task.run_dir, task.count
    keys = [key(item) for item in items]
    if len(set(keys)) != len(keys):
        raise ValueError(f"{label}: item keys are not unique")
    with worker_lock(run_dir, exclusive=True):
        pass  # no worker of a killed earlier driver still writes its shard log
    merge_shard_logs(run_dir, name)  # what those workers finished
    stop = stop_flag(run_dir, name)
    stop.unlink(missing_ok=True)
    done = {k: e for k, e in ItemLog(stage_log(run_dir, name)).load().items() if e.get("ok")}
    resumed = len(done)
    shown = progress.add_task(label, total=len(keys), completed=resumed, resumed=resumed) if progress else None
    busy = [i for i in range(count) if any(k not in done for k in keys[i::count])]
    exits: list[ShardExit] = []
    if busy:
        tails = [LogTail(shard_log(run_dir, name, i)) for i in busy]
        launcher.start([replace(task, index=i, concurrency=share(task.concurrency, i, count)) for i in busy])
        failed = 0
        try:
            while True:
                ended = launcher.poll()
                arrived = [entry for tail in tails for entry in tail.read()]
                failed += sum(not entry.get("ok") for entry in arrived)
                if shown is not None and arrived:
                    progress.update(shown, advance=len(arrived), failed=failed)
                if max_failures is not None and failed >= max_failures:
                    stop.touch()
                if ended is not None:
                    exits = ended
                    break
                time.sleep(POLL_S)
        finally:
            launcher.close()
    new = merge_shard_logs(run_dir, name)
    stop.unlink(missing_ok=True)
    done.update(new)
    failed = sum(not entry.get("ok") for entry in new.values())
    entries = outcomes(keys, done)
    aborted = max_failures is not None and failed >= max_failures
    result = StageResult(entries, failed, sum(k not in done for k in keys), resumed, aborted)
    return ShardedStage(result, collect_calls(run_dir, name), [e for e in exits if e.code != 0])


def replica_stage(
    items: Sequence[Any],
    *,
    name: str,
    key: Callable[[Any], str],
    task: ShardTask,
    run: Callable[[list[Any], ItemLog, Callable[[], bool]], Any],
) -> StageResult:
    """A stage as a worker meets it: one the driver finished comes back from its log; the worker's own stage runs
    its shard of the items not done (through ``run``: items, shard log, stop flag) and ends the replica."""
    logged = ItemLog(stage_log(task.run_dir, name)).load()
    if name != task.stage:
        counts = task.finished.get(name)
        if counts is None:
            raise ShardError(f"the replica met stage {name!r}, which the driver has not finished before {task.stage!r}")
        return StageResult(outcomes([key(item) for item in items], logged), *counts)
    mine = [item for item in items[task.index :: task.count] if not logged.get(key(item), {}).get("ok")]
    run(mine, ItemLog(shard_log(task.run_dir, name, task.index)), stop_flag(task.run_dir, name).exists)
    raise ShardDone
