"""Atomic, deterministic JSONL and text writes: a crash never leaves a half-written result file."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temp file in the same directory and rename, so readers see the old or the new file, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def dumps_record(record: dict[str, Any]) -> str:
    """One JSONL line; key order is the record's own, so equal records give equal bytes."""
    return json.dumps(record, ensure_ascii=False, allow_nan=False)


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> int:
    lines = [dumps_record(record) for record in records]
    atomic_write_text(path, "".join(f"{line}\n" for line in lines))
    return len(lines)


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, record)`` for each non-blank line, naming the file and line of a malformed one."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise ValueError(f"{path}:{number}: expected a JSON object, got {type(record).__name__}")
            yield number, record


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Read a JSONL file, naming the file and line of the first malformed record."""
    return [record for _, record in iter_jsonl(path)]


def write_parquet(path: Path, records: list[dict[str, Any]]) -> None:
    """The JSONL records as a Parquet table; nested values (dicts, lists of dicts) are stored as JSON text.

    Parquet needs one type per column, and an error column that is null on most rows and a struct on a few is
    the common case in result files; JSON text keeps every record readable with pandas alone.
    """
    import pandas as pd

    def flat(value: Any) -> Any:
        if isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, dict) for v in value)):
            return json.dumps(value, ensure_ascii=False)
        return value

    frame = pd.DataFrame([{key: flat(value) for key, value in record.items()} for record in records])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
