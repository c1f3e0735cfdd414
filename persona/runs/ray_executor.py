"""Shards as Ray tasks (``[run] executor = "ray"``): Ray schedules them and re-runs a task whose worker died.

A re-run task resumes from its shard log and the run's cache, so nothing already answered is asked again. Every
task reads and writes the run dir, so on a cluster of several machines the run dir must be on a filesystem that all
of them mount (NFS and the like). API keys do not travel in a task: each worker resolves its roles' ``api_key_env``
(or ``api_key_command``) itself, from its own environment. The task does carry the spec, a credential header in a
role's ``extra`` included; it is a few kilobytes, which Ray inlines in the task instead of its object store, so it
is never spilled to disk.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from typing import Any

from persona.errors import InputError
from persona.runs.shards import ShardExit, ShardTask
from persona.runs.worker import DETAIL_CHARS

TASK_RETRIES = 3  # re-runs of a task whose worker process died (Ray's own retry; raised errors are not retried)


def ray_module() -> Any:
    """Ray, or an error naming the extra that installs it."""
    try:
        import ray
    except ImportError:
        raise InputError("executor 'ray' needs Ray: pip install 'persona-testbed[ray]'") from None
    return ray


def _run_shard(payload: bytes) -> None:
    from persona.runs.worker import serve_shard

    serve_shard(pickle.loads(payload))


class RayLauncher:
    """Joins the cluster at ``address`` (None: starts Ray on this machine with ``workers`` CPUs) for one session."""

    def __init__(self, address: str | None, workers: int) -> None:
        ray = ray_module()
        self._started = not ray.is_initialized()
        if self._started:
            options: dict[str, Any] = {"address": address} if address else {"num_cpus": workers}
            try:
                ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False, **options)
            except Exception as exc:  # Ray raises many kinds; the user needs the one line that says why
                ray.shutdown()
                where = f"the Ray cluster at {address}" if address else "a local Ray"
                raise InputError(f"could not start {where}: {type(exc).__name__}: {exc}") from None
        # One fresh process per task: a replica sets process-wide state (DSPy's cache, the embedded model's threads).
        self._remote = ray.remote(num_cpus=1, max_retries=TASK_RETRIES, max_calls=1)(_run_shard)
        self._refs: dict[int, Any] = {}

    def start(self, tasks: Sequence[ShardTask]) -> None:
        self._refs = {task.index: self._remote.remote(pickle.dumps(task)) for task in tasks}

    def poll(self) -> list[ShardExit] | None:
        ray = ray_module()
        _, waiting = ray.wait(list(self._refs.values()), num_returns=len(self._refs), timeout=0)
        if waiting:
            return None
        exits = []
        for index, ref in self._refs.items():
            try:
                ray.get(ref)
                exits.append(ShardExit(index, 0, ""))
            except ray.exceptions.RayError as exc:
                exits.append(ShardExit(index, 1, str(exc)[-DETAIL_CHARS:]))
        return exits

    def close(self) -> None:
        ray = ray_module()
        for ref in self._refs.values():
            ray.cancel(ref, force=True)
        self._refs = {}

    def shutdown(self) -> None:
        """End the Ray this launcher started (a cluster it joined goes on)."""
        if self._started:
            ray_module().shutdown()
