"""Claiming a run dir: one spec per dir, and one process at a time for the whole life of a run.

Two processes running into one dir would both call the model for every item (double spend on a paid API) and
interleave their logs. The claim is an OS file lock (``filelock``, flock on POSIX), which the kernel drops when
its holder dies, so the lock of a killed run is taken over by the next run with no stale-lock guessing; the
holder's PID sits in a file beside it only so that a refused process can say who holds the dir.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from persona.data.io import atomic_write_text
from persona.errors import InputError

FINGERPRINT = "spec.sha256"
LOCK = ".lock"
HOLDER = ".lock.pid"
SUBDIRS = ("log", "cache")  # what a run keeps in folders of its own


class RunDirError(InputError):
    """A run dir that cannot be used: another spec's results, another process running in it, or not a folder."""


def _holder(run_dir: Path) -> str:
    try:
        pid = (run_dir / HOLDER).read_text().strip()
    except OSError:
        pid = ""
    return f"PID {pid}" if pid.isdigit() else "another process"


def _check(run_dir: Path, fingerprint: str) -> None:
    marker = run_dir / FINGERPRINT
    if marker.exists() and marker.read_text().strip() != fingerprint:
        raise RunDirError(
            f"{run_dir} holds results of a different spec; give another --out, or delete it to start over"
        )
    for name in SUBDIRS:
        path = run_dir / name
        if path.exists() and not path.is_dir():
            raise RunDirError(f"{path}: a run keeps its {name} folder there, but it is a file; move it away")


@contextlib.contextmanager
def claim_run_dir(run_dir: Path, fingerprint: str) -> Iterator[Path]:
    """Hold ``run_dir`` for results with this fingerprint until the block ends; refuse a dir in use or of another spec.

    Nothing in the dir changes when the claim is refused.
    """
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise RunDirError(f"{run_dir}: exists and is not a folder; give --out a folder (new or a run dir)")
    if run_dir.is_dir():
        _check(run_dir, fingerprint)  # refuse before the lock file is made; checked again once the lock is held
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunDirError(f"{run_dir}: cannot create the run dir ({exc.strerror})") from None
    lock = FileLock(str(run_dir / LOCK))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise RunDirError(
            f"{run_dir}: run dir in use by {_holder(run_dir)}; wait for that run to finish, or give another --out"
        ) from None
    try:
        _check(run_dir, fingerprint)
        atomic_write_text(run_dir / HOLDER, f"{os.getpid()}\n")
        atomic_write_text(run_dir / FINGERPRINT, fingerprint + "\n")
        yield run_dir
    finally:
        (run_dir / HOLDER).unlink(missing_ok=True)
        lock.release()
