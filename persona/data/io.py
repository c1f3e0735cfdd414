"""Atomic, deterministic JSONL and text writes: a crash never leaves a half-written result file."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from persona.errors import InputError


def make_folder(path: Path) -> None:
    """Create ``path`` and its parents; a file in the way is the user's to move, so it is named, never replaced."""
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InputError(f"{path}: exists and is not a folder (or sits below a file); give another folder") from None


def temp_sibling(path: Path) -> Path:
    """A fresh name beside ``path`` for writing it whole before the rename; created files get the user's umask."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def atomic_write_lines(path: Path, lines: Iterable[str], private: bool = False) -> int:
    """Write ``lines`` (each ending in a newline) via a temp file in the same directory and rename, so readers see
    the old or the new file, never half; the lines are streamed, so a large file is never held whole in memory.
    ``private`` files (people's free text, ids) are readable by their owner only. Returns how many were written."""
    make_folder(path.parent)
    tmp = temp_sibling(path)
    # the umask applies, as to any file we create; a private file is owner-only whatever the umask
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o666)
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            for line in lines:
                handle.write(line)
                count += 1
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return count


def atomic_write_text(path: Path, text: str, private: bool = False) -> None:
    """Write ``text`` whole or not at all (see ``atomic_write_lines``)."""
    atomic_write_lines(path, [text], private)


def dumps_record(record: dict[str, Any]) -> str:
    """One JSONL line; key order is the record's own, so equal records give equal bytes."""
    return json.dumps(record, ensure_ascii=False, allow_nan=False)


def write_jsonl(path: Path, records: Iterable[dict[str, Any]], private: bool = False) -> int:
    return atomic_write_lines(path, (f"{dumps_record(record)}\n" for record in records), private)


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, record)`` for each non-blank line, naming the file and line of a malformed one."""
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: a folder, not a JSONL file") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise InputError(f"{path}:{number}: not UTF-8 text") from None
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise InputError(f"{path}:{number}: expected a JSON object, got {type(record).__name__}")
            yield number, record


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Read a JSONL file, naming the file and line of the first malformed record."""
    return [record for _, record in iter_jsonl(path)]


def write_parquet(path: Path, records: list[dict[str, Any]]) -> None:
    """The JSONL records as a Parquet table; a column holding nested values (dicts, lists of dicts) is stored as
    JSON text, every non-null value of it (an empty list too).

    Parquet needs one type per column, and an error column that is null on most rows and a struct on a few is
    the common case in result files; JSON text keeps every record readable with pandas alone.
    """
    import pandas as pd

    def nested(value: Any) -> bool:
        return isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, dict) for v in value))

    as_json = {key for record in records for key, value in record.items() if nested(value)}

    def flat(key: str, value: Any) -> Any:
        return json.dumps(value, ensure_ascii=False) if key in as_json and value is not None else value

    frame = pd.DataFrame([{key: flat(key, value) for key, value in record.items()} for record in records])
    make_folder(path.parent)
    tmp = temp_sibling(path)
    try:
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
