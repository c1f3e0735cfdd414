"""The PERSONA dataset as published (Hugging Face ``SynthLabsAI/PERSONA``, one split ``train``), in and out.

Each published row is one persona's preference pair: ``persona`` (the profile as newline-separated ``key: value``
lines), ``instruction`` (the prompt), ``original`` (the generic answer: rejected), ``data`` (the persona's revision:
chosen), ``critique``, and ``question type`` (``train`` / ``test``: the prompt's split). Importing turns them into
an ordinary pairs run dir, so every kind that reads pairs or personas runs on published personas; exporting writes
the same layout back, row for row and value for value.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from persona.data.io import read_jsonl
from persona.data.persona import ATTRIBUTES, Persona
from persona.errors import InputError

COLUMNS = ("persona", "instruction", "original", "data", "critique", "question type")
# The published question type is the prompt's split: its test questions are prompts held out of training.
QUESTION_TYPES = {"train": "train", "test": "test_heldout"}
EXPORTED_TYPES = {"train": "train", "test_seen": "test", "test_heldout": "test"}
NULL_VALUES = frozenset({"", "nan", "none", "not applicable"})  # compared case-folded
NUMBERS = ("age", "income")  # the attributes our record holds as whole numbers (as text)
PROFILES = "profiles.jsonl"  # each imported persona's profile text exactly as published
_KEYS = {name.casefold(): name for name in ATTRIBUTES}


class PublishedFormatError(InputError):
    """A file that is not in the published layout; the message names the file and what is missing."""


class Rejected(BaseModel):
    """A published row kept out of the import, and why: never dropped silently."""

    row: int = Field(description="the row's index in the source, from 0 as `datasets` counts")
    reason: str


class ImportSummary(BaseModel):
    """What an import read, kept and left out."""

    source: str
    rows: int
    pairs: int
    personas: int
    prompts: int
    splits: dict[str, int] = Field(description="pairs per prompt split")
    rejected: list[Rejected]
    unparsed_lines: int = Field(description="profile lines without 'key: value', kept as unparsed details")
    unknown_keys: dict[str, int] = Field(description="profile keys beyond the 33 attributes (kept), per persona")


class Imported(NamedTuple):
    personas: list[Persona]
    profiles: dict[str, str]  # persona id -> the published profile text
    pairs: Callable[..., Iterator[dict]]  # pairs(sides=None): our pair records in row order, streamed
    counted: list[tuple[str, str]]  # each kept pair's (persona id, prompt split)
    summary: ImportSummary


def persona_id(text: str) -> str:
    """A persona's stable id from its published profile text: identical text is one persona."""
    return "p-" + hashlib.sha256(text.encode()).hexdigest()[:12]


def prompt_id(text: str) -> str:
    return "q-" + hashlib.sha256(text.encode()).hexdigest()[:12]


def _value(name: str, raw: str) -> str | None:
    value = raw.strip()
    if value.casefold() in NULL_VALUES:
        return None
    if name in NUMBERS:
        try:
            number = float(value.replace(",", ""))
        except ValueError:
            return value
        return str(int(number)) if number.is_integer() else value
    return value


def parse_profile(text: str) -> tuple[Persona, list[str], int]:
    """The persona of one published profile: keys mapped onto our attribute names (case aside), null markers as
    null, whole numbers where our record has them; other keys, and lines that are not ``key: value``, are kept as
    profile details. Returns the persona, its unknown keys and its count of unparsed lines."""
    attributes: dict[str, str | None] = {}
    details: dict[str, str] = {}
    unknown: list[str] = []
    unparsed = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, raw = line.partition(": ")
        if not sep:
            key, sep, raw = line.partition(":")
        if not sep or not key.strip():
            unparsed += 1
            details[f"unparsed line {number}"] = line.strip()
            continue
        name = _KEYS.get(" ".join(key.split()).casefold())
        if name is None:
            unknown.append(key.strip())
            details[key.strip()] = raw.strip()
        elif name not in attributes:
            attributes[name] = _value(name, raw)
    return Persona(id=persona_id(text), attributes=attributes, profile=details), unknown, unparsed


CHUNK = 20_000  # rows converted to records at a time: a published-size file is never held whole


class Published(NamedTuple):
    """A published-layout source, read in two passes: first the few columns that decide which rows are kept (each
    profile and prompt stored once however many rows repeat it), then all columns a chunk of rows at a time."""

    name: str
    keys: pd.DataFrame  # persona, instruction, question type, and whether data / original are blank
    chunks: Callable[[], Iterator[pd.DataFrame]]


def read_published(source: str | Path) -> Published:
    """A published-layout source: a Parquet, JSONL or CSV file, a saved ``datasets`` dataset (its ``train`` split),
    or a hub name through ``datasets`` (``hf:SynthLabsAI/PERSONA``). Only the layout's columns are read; a missing
    one is named with the columns found."""
    text = str(source)
    path = Path(text)
    if text.startswith("hf:"):
        return _in_memory(text, _from_datasets(text.removeprefix("hf:"), hub=True))
    if not path.exists():
        raise PublishedFormatError(f"{path}: no such file or folder (a hub dataset is named hf:OWNER/NAME)")
    if path.is_dir():
        return _in_memory(text, _from_datasets(text, hub=False))
    if path.suffix == ".parquet":
        return _parquet(path)
    if path.suffix == ".jsonl":
        return _in_memory(text, pd.DataFrame(read_jsonl(path)))
    if path.suffix == ".csv":
        return _in_memory(text, pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[]))
    raise PublishedFormatError(f"{path}: expected .parquet, .jsonl, .csv or a saved datasets folder")


def _check_columns(name: str, found: list[str]) -> None:
    missing = [column for column in COLUMNS if column not in found]
    if missing:
        raise PublishedFormatError(
            f"{name}: not the published PERSONA layout; missing columns {missing} (found {found})"
        )


def _blank(column: pd.Series) -> pd.Series:
    return column.isna() | column.astype(str).str.strip().eq("")


def _keys(frame: pd.DataFrame) -> pd.DataFrame:
    # Objects, not text columns: a row holds a reference to its profile's one string, not a copy of the text.
    keys = frame[["persona", "instruction", "question type"]].astype(object)
    keys["data blank"], keys["original blank"] = _blank(frame["data"]), _blank(frame["original"])
    return keys


def _in_memory(name: str, frame: pd.DataFrame) -> Published:
    _check_columns(name, list(frame.columns))
    frame = frame[list(COLUMNS)].reset_index(drop=True)
    return Published(name, _keys(frame), lambda: (frame.iloc[i : i + CHUNK] for i in range(0, len(frame), CHUNK)))


def _parquet(path: Path) -> Published:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    found = pq.read_schema(path).names
    _check_columns(str(path), found)

    def blank(column) -> np.ndarray:  # the long texts are tested in Arrow, never turned into Python strings
        empty = pc.or_kleene(pc.is_null(column), pc.equal(pc.utf8_trim_whitespace(column), ""))
        return empty.fill_null(True).to_numpy(zero_copy_only=False)

    file = pq.ParquetFile(path, read_dictionary=["persona", "instruction"], pre_buffer=False)
    wanted = ["persona", "instruction", "question type", "data", "original"]
    parts = [
        pd.DataFrame(
            {name: batch[name].to_pandas().astype(object) for name in wanted[:3]}
            | {"data blank": blank(batch["data"]), "original blank": blank(batch["original"])}
        )
        for batch in file.iter_batches(batch_size=CHUNK, columns=wanted)
    ]
    keys = pd.concat(parts, ignore_index=True) if parts else _keys(pd.DataFrame(columns=list(COLUMNS)))

    def chunks() -> Iterator[pd.DataFrame]:
        for batch in pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=CHUNK, columns=list(COLUMNS)):
            yield batch.to_pandas()

    return Published(str(path), keys, chunks)


def _from_datasets(name: str, hub: bool) -> pd.DataFrame:
    try:
        import datasets  # optional: only saved datasets and the hub need it
    except ImportError:
        raise PublishedFormatError(
            f"{name}: reading it needs the datasets package: pip install 'persona-testbed[hf]'"
        ) from None
    loaded = datasets.load_dataset(name) if hub else datasets.load_from_disk(name)
    if isinstance(loaded, datasets.DatasetDict):
        if "train" not in loaded:
            raise PublishedFormatError(f"{name}: no split 'train' (splits: {list(loaded)})")
        loaded = loaded["train"]
    return loaded.to_pandas()


def import_published(source: Published) -> Imported:
    """Personas, their profile texts and (lazily) the pair records of published rows, in row order. A row with no
    persona, an empty chosen or rejected side, an unknown question type, or a (persona, instruction) seen on an
    earlier row is kept out and listed with its row number."""
    keys = source.keys
    reasons = pd.Series("", index=keys.index)
    repeated = keys.duplicated(subset=["persona", "instruction"], keep="first")
    checks = (
        (_blank(keys["persona"]), "no persona"),
        (keys["data blank"], "empty chosen (data)"),
        (keys["original blank"], "empty rejected"),
        (~keys["question type"].isin(list(QUESTION_TYPES)), "question type not train/test"),
        (_blank(keys["instruction"]), "no instruction"),
        (repeated, "duplicate (persona, instruction) of an earlier row"),
    )
    for failed, reason in checks:
        reasons = reasons.mask(reasons.eq("") & failed, reason)
    rejected = [Rejected(row=int(i), reason=r) for i, r in reasons[reasons.ne("")].items()]
    keep = reasons.eq("").to_numpy()
    kept = keys[keep]
    texts = [str(text) for text in pd.unique(kept["persona"])]
    parsed = {text: parse_profile(text) for text in texts}
    personas = [parsed[text][0] for text in texts]
    ids = {text: persona.id for text, persona in zip(texts, personas, strict=True)}
    prompts = {str(text): prompt_id(str(text)) for text in pd.unique(kept["instruction"])}
    splits = kept["question type"].map(QUESTION_TYPES)
    unknown = Counter(key for text in texts for key in parsed[text][1])
    summary = ImportSummary(
        source=source.name,
        rows=len(keys),
        pairs=int(keep.sum()),
        personas=len(personas),
        prompts=len(prompts),
        splits={str(split): int(n) for split, n in splits.value_counts(sort=False).items()},
        rejected=rejected,
        unparsed_lines=sum(parsed[text][2] for text in texts),
        unknown_keys=dict(sorted(unknown.items())),
    )

    def pairs(sides: Mapping[str, str] | None = None) -> Iterator[dict]:
        start = 0
        for chunk in source.chunks():
            mask = keep[start : start + len(chunk)]
            start += len(chunk)
            for persona, instruction, original, data, critique, kind in chunk[mask].itertuples(index=False):
                pid = ids[str(persona)]
                yield {
                    "persona_id": pid,
                    "prompt_id": prompts[str(instruction)],
                    "split": QUESTION_TYPES[kind],
                    **({"persona_split": sides[pid]} if sides is not None else {}),
                    "topic": None,
                    "prompt": str(instruction),
                    "chosen": data,
                    "rejected": original,
                    "critique": None if critique is None or critique != critique else critique,
                    "error": None,
                }

    counted = list(zip((ids[str(t)] for t in kept["persona"]), splits, strict=True))
    return Imported(personas, {ids[text]: text for text in texts}, pairs, counted, summary)


def published_frame(pairs: pd.DataFrame, profiles: dict[str, str]) -> pd.DataFrame:
    """Pairs in our export schema (``persona`` the rendered profile) back in the published layout; an imported
    persona gets its published profile text back exactly."""
    persona = pairs["persona_id"].map(profiles).fillna(pairs["persona"])
    return pd.DataFrame(
        {
            "persona": persona,
            "instruction": pairs["prompt"],
            "original": pairs["rejected"],
            "data": pairs["chosen"],
            "critique": pairs["critique"],
            "question type": pairs["split"].map(EXPORTED_TYPES),
        }
    )


def read_profiles(run_dir: Path) -> dict[str, str]:
    """An imported run dir's published profile texts by persona id; a generated run dir has none."""
    path = Path(run_dir) / PROFILES
    return {row["id"]: row["text"] for row in read_jsonl(path)} if path.is_file() else {}
