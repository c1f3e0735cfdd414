"""Preference datasets out and back in: Parquet per split, a Hugging Face DatasetDict, and TRL's DPO JSONL."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from persona.data.io import atomic_write_text, dumps_record, make_folder, read_jsonl
from persona.data.persona import read_personas
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
FORMATS = ("parquet", "hf", "trl")


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
    records = read_jsonl(path)
    rows = [r for r in records if r.get("error") is None]
    if not rows:
        raise PairsFormatError(f"{path}: no built pairs to export ({len(records)} records, all failed)")
    personas = {p.id: p.as_prompt() for p in read_personas(run_dir / "personas.jsonl")}
    frame = pd.DataFrame(rows)
    if "prompt" not in frame.columns:  # a `persona run` dir keeps the prompts it used in prompts.jsonl
        prompts = {r["id"]: r for r in read_jsonl(run_dir / "prompts.jsonl")}
        frame["prompt"] = frame["prompt_id"].map(lambda i: prompts.get(i, {}).get("text"))
        frame["topic"] = frame["prompt_id"].map(lambda i: prompts.get(i, {}).get("topic"))
    if "split" not in frame.columns:
        frame["split"] = UNSPLIT
    frame = frame.reindex(columns=[c for c in COLUMNS if c != "persona"])
    frame["split"] = frame["split"].fillna(UNSPLIT)
    unknown = sorted(set(frame["split"]) - {*SPLITS, UNSPLIT})
    if unknown:
        raise PairsFormatError(f"{path}: unknown splits {unknown}; the splits are {', '.join(SPLITS)}")
    missing = frame["prompt"].isna() | ~frame["persona_id"].isin(list(personas))
    if missing.any():
        row = frame[missing].iloc[0]
        raise PairsFormatError(f"{path}: pair {row['persona_id']}|{row['prompt_id']} has no persona or prompt text")
    frame.insert(1, "persona", frame["persona_id"].map(personas))
    return frame[list(COLUMNS)].astype({"chosen_tokens": "int64", "rejected_tokens": "int64"})


def trl_record(row: pd.Series) -> dict:
    """TRL's conversational DPO format: the persona as system context, the question as the user turn."""
    return {
        "prompt": [{"role": "system", "content": row["persona"]}, {"role": "user", "content": row["prompt"]}],
        "chosen": [{"role": "assistant", "content": row["chosen"]}],
        "rejected": [{"role": "assistant", "content": row["rejected"]}],
    }


def export_pairs(run_dir: Path, fmt: str = "parquet", out: Path | None = None) -> list[Path]:
    """Write the run's pairs as ``parquet`` (one file per split), ``hf`` (a saved DatasetDict) or ``trl`` JSONL, into
    ``out`` (default: the run dir's ``export`` folder)."""
    if fmt not in FORMATS:
        raise PairsFormatError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    frame = pairs_table(Path(run_dir))
    # Only splits that hold pairs are written: an empty file would pass for an export that lost its pairs.
    parts = {
        split: frame[frame["split"] == split].reset_index(drop=True)
        for split in (*SPLITS, UNSPLIT)
        if (frame["split"] == split).any()
    }
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
    if fmt == "parquet":
        paths = [out / f"{split}.parquet" for split in parts]
        for part, path in zip(parts.values(), paths, strict=True):
            tmp = path.with_name(f".{path.name}.tmp")
            part.to_parquet(tmp, index=False)
            tmp.replace(path)
        return paths
    if fmt == "trl":
        paths = [out / f"{split}.jsonl" for split in parts]
        for part, path in zip(parts.values(), paths, strict=True):
            lines = [dumps_record(trl_record(row)) for _, row in part.iterrows()]
            atomic_write_text(path, "".join(f"{line}\n" for line in lines))
        return paths

    target = out / "hf"
    datasets.DatasetDict(
        {split: datasets.Dataset.from_pandas(part, preserve_index=False) for split, part in parts.items()}
    ).save_to_disk(str(target))
    return [target]


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
