"""Prompt sets: the embedded questions (written for this project), PRISM, or any JSONL/CSV/Parquet column."""

from __future__ import annotations

import math
import unicodedata
from importlib.resources import files
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict

from persona.data.io import iter_jsonl, read_jsonl
from persona.errors import InputError

PRISM_DATASET = ("HannahKirk/prism-alignment", "conversations")
PRISM_FIELD = "opening_prompt"


class PromptSourceError(InputError):
    """A prompt source that cannot be read; the message names the file (and line) and what is wrong."""


class Prompt(BaseModel):
    """One question. ``topic`` and ``kind`` are known for the embedded set; curation assigns topics to others."""

    model_config = ConfigDict(frozen=True)

    id: str
    topic: str | None = None
    text: str
    kind: Literal["value-laden", "factual"] | None = None


def load_embedded_prompts() -> list[Prompt]:
    """The embedded set: 180 questions over 18 topics, 125 value-laden and 55 factual, each labelled."""
    path = Path(str(files("persona.data.reference").joinpath("prompts.jsonl")))
    return [Prompt.model_validate(record) for record in read_jsonl(path)]


def value_laden(prompts: list[Prompt]) -> list[Prompt]:
    """The prompts an experiment may ask a persona: all but those labelled factual.

    Personalisation is measured on questions people disagree about, as in the paper; the embedded factual
    questions stay in the set as negative controls for the controversiality classifier.
    """
    return [p for p in prompts if p.kind != "factual"]


def load_prompts(source: str, column: str = "text") -> list[Prompt]:
    """Prompts from ``embedded``, ``prism`` (the Hugging Face dataset, needs ``datasets`` and a network), or a
    file: JSONL (PRISM's ``conversations.jsonl`` is read through its ``opening_prompt`` field), CSV or Parquet with
    a ``column`` of text. Ids come from an ``id`` or ``conversation_id`` field, else ``<file stem>-<row>``;
    a ``topic`` field is kept."""
    if source == "embedded":
        return load_embedded_prompts()
    if source == "prism":
        return _prism_hub()
    path = Path(source)
    if not path.is_file():
        raise PromptSourceError(f"{path}: no such prompt file (or use 'embedded' or 'prism')")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        rows = _jsonl_rows(path, column)
    elif suffix in (".csv", ".parquet"):
        rows = _table_rows(path, column)
    else:
        raise PromptSourceError(f"{path}: unknown prompt file type {suffix!r}; use .jsonl, .csv or .parquet")
    if not rows:
        raise PromptSourceError(f"{path}: no prompts in the file")
    return [_prompt(path.stem, number, row, field) for number, (row, field) in rows]


def _prompt(stem: str, number: int, row: dict, field: str) -> Prompt:
    given = [row.get(key) for key in ("id", "conversation_id")]
    ident = next((str(value) for value in given if _given(value)), f"{stem}-{number:05d}")
    topic = row.get("topic")
    return Prompt(id=ident, topic=None if pd.isna(topic) else str(topic), text=str(row[field]))


def _given(value: object) -> bool:
    """Whether a row holds an id (pandas reads a blank CSV cell as NaN); ``0`` is an id like any other."""
    return value is not None and value != "" and not (isinstance(value, float) and math.isnan(value))


def _jsonl_rows(path: Path, column: str) -> list[tuple[int, tuple[dict, str]]]:
    rows = []
    try:
        for number, record in iter_jsonl(path):
            field = PRISM_FIELD if PRISM_FIELD in record else column
            if not isinstance(record.get(field), str):
                raise PromptSourceError(f"{path}:{number}: no text in field {field!r} (keys: {sorted(record)})")
            rows.append((number, (record, field)))
    except PromptSourceError:
        raise
    except ValueError as exc:
        raise PromptSourceError(str(exc)) from None
    return rows


def _table_rows(path: Path, column: str) -> list[tuple[int, tuple[dict, str]]]:
    try:
        ids = {"id": "str", "conversation_id": "str"}  # as written: pandas would read "007" as the number 7
        frame = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(path, dtype=ids)
    except ImportError as exc:
        raise PromptSourceError(f"{path}: reading Parquet needs pyarrow ({exc})") from None
    except (ValueError, OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise PromptSourceError(f"{path}: cannot read ({exc})") from None
    if column not in frame.columns:
        raise PromptSourceError(f"{path}: no column {column!r} (columns: {list(frame.columns)}); pass --column")
    rows = []
    for number, record in enumerate(frame.to_dict("records"), start=2 if path.suffix.lower() == ".csv" else 1):
        if not isinstance(record[column], str):
            raise PromptSourceError(f"{path}: row {number}: column {column!r} is empty or not text")
        rows.append((number, (record, column)))
    return rows


def _prism_hub() -> list[Prompt]:
    try:
        import datasets  # optional: only PRISM from the Hub needs it
    except ImportError:
        raise PromptSourceError(
            "PRISM from the Hugging Face Hub needs the `datasets` package; or download conversations.jsonl and "
            "pass its path"
        ) from None
    try:
        table = datasets.load_dataset(*PRISM_DATASET, split="train")
    except Exception as exc:  # offline, gated, renamed: all end the same way for the user
        raise PromptSourceError(
            f"cannot load {PRISM_DATASET[0]} ({type(exc).__name__}: {exc}); "
            "download conversations.jsonl and pass its path"
        ) from None
    return [
        Prompt(id=str(row.get("conversation_id") or f"prism-{i:05d}"), text=row[PRISM_FIELD])
        for i, row in enumerate(table)
    ]


def normalise(text: str) -> str:
    """Unicode NFC, whitespace collapsed, ends trimmed: the form prompts are compared and kept in."""
    return " ".join(unicodedata.normalize("NFC", text).split())
