"""Preference datasets out and back in: Parquet per split, a Hugging Face DatasetDict, TRL's DPO JSONL, and the
PERSONA dataset's published layout."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from persona.data.io import atomic_write_text, dumps_record, iter_jsonl, make_folder, read_jsonl
from persona.data.persona import read_personas
from persona.data.published import published_frame, read_profiles
from persona.data.splits import PERSONA_SPLITS
from persona.errors import InputError

SPLITS = ("train", "test_seen", "test_heldout")
UNSPLIT = "all"  # the split of pairs from a run without the train / test layout (`persona run`, the quickstart)
COLUMNS = (
    "persona_id",
    "persona",
    "prompt_id",
    "topic",
    "prompt",
    "chosen",
    "rejected",
    "critique",
    "chosen_tokens",
    "rejected_tokens",
    "split",
    "generator",
    "critic",
)
REQUIRED = ("persona_id", "persona", "prompt", "chosen", "rejected", "split")
FORMATS = ("parquet", "hf", "trl", "persona")
CHUNK = 20_000  # records read into a frame at a time
PUBLISHED_FILE = "persona.parquet"  # the published layout, one file as on the hub (its one split, train)


class PairsFormatError(InputError):
    """A preference file that does not hold our schema; the message names the file and the missing columns."""


def pairs_table(run_dir: Path) -> pd.DataFrame:
    """The built pairs of a run dir, with each persona's and prompt's text, in our export schema.

    A ``persona pairs generate`` run carries each pair's split; the pairs of a ``persona run`` (the quickstart) have
    none and are exported under the split ``all``. A run with no built pair is refused, never exported empty.
    """
    path = run_dir / "pairs.jsonl"
    if not path.is_file():
        raise PairsFormatError(f"{run_dir}: no pairs.jsonl; give a `persona pairs generate` or `persona run` dir")
    records, parts, batch = 0, list[pd.DataFrame](), list[dict]()
    for _, record in iter_jsonl(path):  # a chunk of records at a time: a published-size file is 317,200 of them
        records += 1
        if record.get("error") is None:
            batch.append(record)
        if len(batch) == CHUNK:
            parts, batch = [*parts, pd.DataFrame(batch)], []
    if batch:
        parts.append(pd.DataFrame(batch))
    if not parts:
        raise PairsFormatError(f"{path}: no built pairs to export ({records} records, all failed)")
    personas = {p.id: p.as_prompt() for p in read_personas(run_dir / "personas.jsonl")}
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    if "prompt" not in frame.columns:  # a `persona run` dir keeps the prompts it used in prompts.jsonl
        prompts = {r["id"]: r for r in read_jsonl(run_dir / "prompts.jsonl")}
        frame["prompt"] = frame["prompt_id"].map(lambda i: prompts.get(i, {}).get("text"))
        frame["topic"] = frame["prompt_id"].map(lambda i: prompts.get(i, {}).get("topic"))
    if "split" not in frame.columns:
        frame["split"] = UNSPLIT
    columns = [c for c in COLUMNS if c != "persona"]
    if "persona_split" in frame.columns:  # a run split by persona carries each pair's side after its prompt split
        columns.insert(columns.index("split") + 1, "persona_split")
    frame = frame.reindex(columns=columns)
    frame["split"] = frame["split"].fillna(UNSPLIT)
    unknown = sorted(set(frame["split"]) - {*SPLITS, UNSPLIT})
    if unknown:
        raise PairsFormatError(f"{path}: unknown splits {unknown}; the splits are {', '.join(SPLITS)}")
    missing = frame["prompt"].isna() | ~frame["persona_id"].isin(list(personas))
    if missing.any():
        row = frame[missing].iloc[0]
        raise PairsFormatError(f"{path}: pair {row['persona_id']}|{row['prompt_id']} has no persona or prompt text")
    frame.insert(1, "persona", frame["persona_id"].map(personas))
    # Imported pairs have no token counts: those columns stay nullable integers rather than failing or faking 0.
    counts = {c: "Int64" if frame[c].isna().any() else "int64" for c in ("chosen_tokens", "rejected_tokens")}
    return frame.astype(counts)


def trl_record(row: pd.Series) -> dict:
    """TRL's conversational DPO format: the persona as system context, the question as the user turn."""
    return {
        "prompt": [{"role": "system", "content": row["persona"]}, {"role": "user", "content": row["prompt"]}],
        "chosen": [{"role": "assistant", "content": row["chosen"]}],
        "rejected": [{"role": "assistant", "content": row["rejected"]}],
    }


def export_pairs(run_dir: Path, fmt: str = "parquet", out: Path | None = None) -> list[Path]:
    """Write the run's pairs as ``parquet`` (one file per split), ``hf`` (a saved DatasetDict), ``trl`` JSONL, or
    ``persona`` (the published layout, which an imported run gets back row for row), into ``out`` (default: the run
    dir's ``export`` folder). A run split by persona names TRL files ``PERSONA_SPLIT.SPLIT.jsonl``; the other
    formats carry ``persona_split`` as a column."""
    if fmt not in FORMATS:
        raise PairsFormatError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    frame = pairs_table(Path(run_dir))
    out = Path(out or Path(run_dir) / "export")
    if out.exists() and not out.is_dir():
        raise PairsFormatError(f"{out}: exists and is not a folder; give --out a folder")
    if fmt == "hf":
        try:
            import datasets  # optional: only the Hugging Face export needs it
        except ImportError:
            raise PairsFormatError(
                "the hf format needs the datasets package: pip install 'persona-testbed[hf]'"
            ) from None
    make_folder(out)
    if fmt == "persona":  # one file in row order, as published
        path = out / PUBLISHED_FILE
        tmp = path.with_name(f".{path.name}.tmp")
        published = published_frame(frame, read_profiles(Path(run_dir)))
        del frame  # a published-size run holds its texts once, not twice
        published.to_parquet(tmp, index=False)
        tmp.replace(path)
        return [path]
    # Only splits that hold pairs are written: an empty file would pass for an export that lost its pairs.
    parts = {
        split: frame[frame["split"] == split].reset_index(drop=True)
        for split in (*SPLITS, UNSPLIT)
        if (frame["split"] == split).any()
    }
    if fmt == "parquet":
        paths = [out / f"{split}.parquet" for split in parts]
        for part, path in zip(parts.values(), paths, strict=True):
            tmp = path.with_name(f".{path.name}.tmp")
            part.to_parquet(tmp, index=False)
            tmp.replace(path)
        return paths
    if fmt == "trl":
        return _write_trl(frame, parts, out)

    target = out / "hf"
    datasets.DatasetDict(
        {split: datasets.Dataset.from_pandas(part, preserve_index=False) for split, part in parts.items()}
    ).save_to_disk(str(target))
    return [target]


def _write_trl(frame: pd.DataFrame, parts: dict[str, pd.DataFrame], out: Path) -> list[Path]:
    if "persona_split" in frame.columns:
        parts = {
            f"{side}.{split}": part[part["persona_split"] == side]
            for split, part in parts.items()
            for side in PERSONA_SPLITS
            if (part["persona_split"] == side).any()
        }
    paths = [out / f"{name}.jsonl" for name in parts]
    for part, path in zip(parts.values(), paths, strict=True):
        lines = [dumps_record(trl_record(row)) for _, row in part.iterrows()]
        atomic_write_text(path, "".join(f"{line}\n" for line in lines))
    return paths


def load_pairs(path: Path) -> pd.DataFrame:
    """Pairs in our schema from a Parquet file or folder (split from the file name), a saved DatasetDict, or JSONL.

    This reads what ``export_pairs`` writes, and published persona preference data in the same schema.
    """
    path = Path(path)
    if not path.exists():
        raise PairsFormatError(f"{path}: no such file or folder")
    if (path / "dataset_dict.json").exists():
        import datasets

        loaded = datasets.load_from_disk(str(path))
        frame = pd.concat([loaded[s].to_pandas() for s in loaded], ignore_index=True)
    elif path.is_dir():
        order = (*SPLITS, UNSPLIT)
        files = sorted(path.glob("*.parquet"), key=lambda p: order.index(p.stem) if p.stem in order else 99)
        if not files:
            raise PairsFormatError(f"{path}: no *.parquet files and no dataset_dict.json")
        frame = pd.concat([_read_one(f) for f in files], ignore_index=True)
    else:
        frame = _read_one(path)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise PairsFormatError(f"{path}: not a persona preference dataset; missing columns {missing}")
    return frame


def _read_one(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
        if "split" not in frame.columns:
            frame["split"] = path.stem
        return frame
    if path.suffix == ".jsonl":
        return pd.DataFrame(read_jsonl(path))
    raise PairsFormatError(f"{path}: expected .parquet, .jsonl, or a folder of them")
