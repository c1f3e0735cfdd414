"""Run items concurrently, commit each finished item to an append log, and resume from that log after a crash."""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from pydantic import BaseModel, ConfigDict
from rich.progress import Progress

from persona.errors import InputError

T = TypeVar("T")
logger = logging.getLogger(__name__)


class LogCorruptError(InputError):
    """An item log damaged somewhere other than its last line, which a crash cannot explain."""


def _digest(key: str, entry: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps([key, entry], sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def _line(key: str, entry: dict[str, Any]) -> str:
    return json.dumps({"key": key, "entry": entry, "sha": _digest(key, entry)}, ensure_ascii=False) + "\n"


class ItemLog:
    """Append-only JSONL of finished items, one ``{"key", "entry", "sha"}`` line each.

    Each line is written whole and flushed, so a killed process leaves at most one torn last line; its checksum
    fails, it is cut off on load, and that item simply runs again. (Flushing hands the line to the OS, which
    survives the process; ``close`` fsyncs for the machine's sake.) Later lines for a key supersede earlier ones,
    which is how a failed item retried on resume replaces its failure.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._handle: Any = None

    def load(self) -> dict[str, dict[str, Any]]:
        entries: dict[str, dict[str, Any]] = {}
        if not self.path.exists():
            return entries
        offset = 0
        with open(self.path, "rb") as handle:
            lines = handle.readlines()
        for number, raw in enumerate(lines, start=1):
            if not raw.endswith(b"\n"):  # written in one call with its newline, so only a crash leaves this
                with open(self.path, "r+b") as handle:
                    handle.truncate(offset)
                break
            try:
                line = json.loads(raw)
                valid = line["sha"] == _digest(line["key"], line["entry"])
            except (ValueError, KeyError, TypeError):
                valid = False
            if not valid:
                raise LogCorruptError(f"{self.path}:{number}: damaged record (checksum or JSON)")
            entries[line["key"]] = line["entry"]
            offset += len(raw)
        return entries

    def append(self, key: str, entry: dict[str, Any]) -> None:
        self._write(_line(key, entry))

    def extend(self, entries: dict[str, dict[str, Any]]) -> None:
        """Append many entries in one write, then sync: how a sharded stage's results join the stage's log."""
        if entries:
            self._write("".join(_line(key, entry) for key, entry in entries.items()))
            self.close()

    def _write(self, text: str) -> None:
        with self._lock:
            if self._handle is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._handle = open(self.path, "a", encoding="utf-8")
            self._handle.write(text)
            self._handle.flush()

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.flush()
                os.fsync(self._handle.fileno())
                self._handle.close()
                self._handle = None


class ItemError(BaseModel):
    """Why an item has no record: the exception's type and (redacted) message, and how often its request was sent."""

    type: str
    message: str
    attempts: int


class Outcome(BaseModel):
    """What became of one item: its record, or the error it ended with; never both, never neither."""

    model_config = ConfigDict(frozen=True)

    record: dict[str, Any] | None = None
    error: ItemError | None = None

    @classmethod
    def logged(cls, entry: dict[str, Any]) -> Outcome:
        """An item log's entry, ``{"ok": true, "record": ...}`` or ``{"ok": false, "error": ...}``, as an outcome."""
        return cls(record=entry["record"]) if entry["ok"] else cls(error=ItemError(**entry["error"]))


class StageResult(NamedTuple):
    entries: list[Outcome]  # in item order
    failed: int
    not_run: int  # items left unstarted because the stage aborted
    resumed: int  # items already finished in the log before this run
    aborted: bool

    def rows(
        self,
        items: Sequence[Any],
        base: Callable[[Any], dict[str, Any]],
        fields: Sequence[str],
        expand: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None,
    ) -> list[dict[str, Any]]:
        """Result rows in item order, the one way item outcomes become rows: ``base(item)`` with a finished item's
        record (or each row ``expand`` makes of it), or one row of nulls for ``fields`` carrying a failed item's
        error, so a failure is on record where its result would be, never silently missing."""
        rows: list[dict[str, Any]] = []
        for item, outcome in zip(items, self.entries, strict=True):
            if outcome.record is not None:
                made = expand(outcome.record) if expand is not None else [outcome.record]
                rows += [base(item) | row | {"error": None} for row in made]
            else:
                error = outcome.error.model_dump() if outcome.error is not None else None
                rows.append(base(item) | dict.fromkeys(fields) | {"error": error})
        return rows


NOT_RUN = Outcome(error=ItemError(type="NotRun", message="the run stopped at max_failures first", attempts=0))


def outcomes(keys: Sequence[str], done: dict[str, dict[str, Any]]) -> list[Outcome]:
    """Each key's logged outcome, in key order; an item with none did not run."""
    return [Outcome.logged(done[key]) if key in done else NOT_RUN for key in keys]


def run_items(
    items: Sequence[T],
    *,
    key: Callable[[T], str],
    make_work: Callable[[], Callable[[T], dict[str, Any]]],
    log: ItemLog,
    concurrency: int = 1,
    label: str = "items",
    progress: Progress | None = None,
    max_failures: int | None = None,
    describe_error: Callable[[BaseException], str] = str,
    stop: Callable[[], bool] | None = None,
) -> StageResult:
    """Run the work over ``items`` with at most ``concurrency`` in flight; output order is item order.

    Items already finished in ``log`` are skipped (failed ones run again). ``make_work()`` returns the function from
    an item to its record; it is called once, in the calling thread, and only when some item is left to run. A
    raising item becomes a failure record instead of ending the run; once ``max_failures`` items have failed, no new
    item starts and the stage returns ``aborted``; ``stop`` (asked before each start) ends the stage the same way
    from outside, as the driver of a sharded run does when all shards together reach the limit. Each item runs in a
    copy of the caller's context, so DSPy settings reach the threads.
    """
    keys = [key(item) for item in items]
    if len(set(keys)) != len(keys):
        raise ValueError(f"{label}: item keys are not unique")
    done = {k: e for k, e in log.load().items() if e.get("ok")}
    resumed = len(done)
    left = [(k, item) for k, item in zip(keys, items, strict=True) if k not in done]
    pending = iter(left)
    task = progress.add_task(label, total=len(items), completed=resumed, resumed=resumed) if progress else None
    if not left:
        return StageResult(outcomes(keys, done), 0, 0, resumed, False)
    work = make_work()
    context = contextvars.copy_context()  # after make_work, whose settings (DSPy's) the items must see
    failed = 0
    aborted = False

    def attempt(item_key: str, item: T) -> tuple[str, dict[str, Any]]:
        try:
            entry: dict[str, Any] = {"ok": True, "record": context.copy().run(work, item)}
        except Exception as exc:
            failure = ItemError(
                type=type(exc).__name__, message=describe_error(exc), attempts=getattr(exc, "attempts", 1)
            )
            entry = {"ok": False, "error": failure.model_dump()}
            logger.warning(
                "%s %s failed after %d attempts: %s: %s",
                label,
                item_key,
                failure.attempts,
                failure.type,
                failure.message,
            )
        log.append(item_key, entry)
        return item_key, entry

    try:
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"persona-{label}") as pool:
            in_flight: set[Future[tuple[str, dict[str, Any]]]] = set()
            while True:
                aborted = aborted or bool(stop and stop())
                while not aborted and len(in_flight) < concurrency and (nxt := next(pending, None)) is not None:
                    in_flight.add(pool.submit(attempt, *nxt))
                if not in_flight:
                    break
                finished, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in finished:
                    item_key, entry = future.result()
                    done[item_key] = entry
                    failed += not entry["ok"]
                    if progress is not None and task is not None:
                        progress.update(task, advance=1, failed=failed)
                aborted = aborted or (max_failures is not None and failed >= max_failures)
    finally:
        log.close()
    return StageResult(outcomes(keys, done), failed, sum(k not in done for k in keys), resumed, aborted)
