"""A shard worker: ``python -m persona.runs.worker`` reads a pickled ``ShardTask`` on stdin and runs that shard.

The driver keeps the worker's stdin open while it lives; when it dies (even by SIGKILL) the pipe closes and the
worker exits at once, so no orphan goes on asking the backend. Ray runs the same ``serve_shard`` inside its tasks.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from typing import IO

from persona.lm.local import THREADS_ENV
from persona.runs.shards import SHARD, ShardDone, ShardError, ShardExit, ShardTask, worker_lock

DETAIL_CHARS = 2000


def serve_shard(task: ShardTask) -> None:
    """Replay the run in this process up to ``task.stage`` and run shard ``task.index`` of it."""
    from persona.runs.engine import run_spec

    os.environ[THREADS_ENV] = str(task.local_threads)
    token = SHARD.set(task)
    try:
        with worker_lock(task.run_dir, exclusive=False):
            run_spec(task.spec, out=task.run_dir, spec_path=task.spec_path, concurrency=task.concurrency)
    except ShardDone:
        return
    finally:
        SHARD.reset(token)
    raise ShardError(f"the replica ended without reaching stage {task.stage!r}")


def _exit_when_orphaned() -> None:
    while os.read(0, 4096):  # unbuffered, so no lock is held at shutdown; b"" is EOF: the driver closed it or died
        pass
    os._exit(1)


def main() -> None:
    task: ShardTask = pickle.load(sys.stdin.buffer)  # the driver writes the task and nothing after it
    threading.Thread(target=_exit_when_orphaned, daemon=True).start()
    serve_shard(task)


class ProcessLauncher:
    """Shards as worker processes on this machine (``[run] executor = "process"``)."""

    def __init__(self) -> None:
        self._running: list[tuple[int, subprocess.Popen[bytes], IO[bytes]]] = []

    def start(self, tasks: Sequence[ShardTask]) -> None:
        for task in tasks:
            errors = tempfile.TemporaryFile()  # outside the run dir: a traceback may quote a request
            process = subprocess.Popen(
                [sys.executable, "-m", "persona.runs.worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=errors,
            )
            assert process.stdin is not None
            process.stdin.write(pickle.dumps(task))
            process.stdin.flush()  # and kept open: its end is how the worker learns the driver is gone
            self._running.append((task.index, process, errors))

    def poll(self) -> list[ShardExit] | None:
        if any(process.poll() is None for _, process, _ in self._running):
            return None
        exits = []
        for index, process, errors in self._running:
            errors.seek(0)
            detail = errors.read().decode(errors="replace")[-DETAIL_CHARS:]
            exits.append(ShardExit(index, process.returncode, detail))
        return exits

    def close(self) -> None:
        for _, process, errors in self._running:
            if process.stdin is not None:
                process.stdin.close()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            errors.close()
        self._running = []


if __name__ == "__main__":
    main()
