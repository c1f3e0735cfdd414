"""Pairs run dirs made without an LM: the published dataset imported, and a run dir split by persona.

Either result is an ordinary pairs run dir (``pairs.jsonl``, ``personas.jsonl``), so ``pairs export``, ``bench``,
``prefs`` and every kind that reads pairs or personas take it as they take a generated one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from persona.data.io import atomic_write_text, iter_jsonl, read_jsonl, write_jsonl
from persona.data.persona import Persona, read_personas
from persona.data.published import PROFILES, ImportSummary, import_published, read_published
from persona.data.splits import persona_splits, split_counts, with_persona_split
from persona.errors import InputError

PAIRS, PERSONAS = "pairs.jsonl", "personas.jsonl"
SHOWN_REJECTED = 20  # rows listed in the report; the summary JSON lists all


def _fresh(out: Path) -> Path:
    """A folder to write a pairs run dir into: never one that already holds pairs, so nothing is overwritten."""
    out = Path(out)
    if (out / PAIRS).exists():
        raise InputError(f"{out}: already holds {PAIRS}; give another --out (nothing was written)")
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder; give another --out")
    return out


def _write(out: Path, personas: list[Persona], pairs: Iterable[dict], profiles: dict[str, str]) -> None:
    # The rows first: they stream, and a bad one found on the way leaves no file at all behind.
    write_jsonl(out / PAIRS, pairs)
    write_jsonl(out / PERSONAS, [p.model_dump() for p in personas])
    if profiles:
        write_jsonl(out / PROFILES, [{"id": i, "text": text} for i, text in profiles.items()])


def import_pairs(
    source: str | Path, out: Path, *, unseen: float | None = None, stratify: str | None = None, seed: int = 0
) -> dict:
    """Import a published-layout source into ``out`` (split by persona when ``unseen`` is given); returns the
    summary that ``import.json`` holds and ``import.md`` shows."""
    out = _fresh(out)
    imported = import_published(read_published(source))
    summary = imported.summary.model_dump()
    sides = None
    if unseen is not None:
        sides = persona_splits(imported.personas, unseen, seed, stratify)
        summary["persona_split"] = _split_section(split_counts(imported.counted, sides), unseen, stratify, seed)
    _write(out, imported.personas, imported.pairs(sides), imported.profiles)
    atomic_write_text(out / "import.json", json.dumps(summary, indent=2) + "\n")
    atomic_write_text(out / "import.md", _import_markdown(imported.summary, summary.get("persona_split")))
    return summary


def split_pairs(run_dir: Path, out: Path, *, unseen: float, stratify: str | None = None, seed: int = 0) -> dict:
    """A copy of a pairs run dir whose records also say their persona's side (``persona_split``), streamed line by
    line, so a published-size run dir is never held in memory."""
    run_dir, out = Path(run_dir), _fresh(out)
    if out.resolve() == run_dir.resolve():
        raise InputError(f"{out}: is the run dir being split; give another --out")
    if not (run_dir / PAIRS).is_file():
        raise InputError(f"{run_dir}: no {PAIRS}; give a `persona pairs generate` or `persona pairs import` dir")
    personas = read_personas(run_dir / PERSONAS)
    sides = persona_splits(personas, unseen, seed, stratify)
    seen: list[tuple[str, str]] = []

    def split_rows() -> Iterator[dict]:
        for number, row in iter_jsonl(run_dir / PAIRS):
            if row["persona_id"] not in sides:
                raise InputError(f"{run_dir / PAIRS}: line {number}: persona {row['persona_id']} is not in {PERSONAS}")
            if row.get("error") is None:
                seen.append((row["persona_id"], row["split"]))
            yield with_persona_split(row, sides)

    profiles_path = run_dir / PROFILES
    profiles = {r["id"]: r["text"] for r in read_jsonl(profiles_path)} if profiles_path.is_file() else {}
    _write(out, personas, split_rows(), profiles)
    section = _split_section(split_counts(seen, sides), unseen, stratify, seed)
    atomic_write_text(out / "split.json", json.dumps({"source": str(run_dir), **section}, indent=2) + "\n")
    atomic_write_text(out / "split.md", "# Persona split\n\n" + _split_markdown(section))
    return section


def _split_section(counts: dict, unseen: float, stratify: str | None, seed: int) -> dict:
    return {"unseen": unseen, "stratify": stratify, "seed": seed, "counts": counts}


def _split_markdown(section: dict) -> str:
    how = f"stratified by {section['stratify']}" if section["stratify"] else "not stratified"
    lines = [
        f"Whole personas held out: unseen = {section['unseen']}, seed {section['seed']}, {how}. "
        "No persona is on both sides.",
        "",
        "| persona split | personas | pairs | by prompt split |",
        "|---|---|---|---|",
    ]
    for side, counts in section["counts"].items():
        by_prompt = ", ".join(f"{k.removeprefix('pairs ')} {v}" for k, v in counts.items() if k.startswith("pairs "))
        lines.append(f"| {side} | {counts['personas']} | {counts['pairs']} | {by_prompt or '-'} |")
    return "\n".join(lines) + "\n"


def _import_markdown(summary: ImportSummary, split: dict | None) -> str:
    lines = [
        "# Imported preference pairs",
        "",
        f"From `{summary.source}`: {summary.rows} rows, {summary.pairs} pairs kept, {summary.personas} personas, "
        f"{summary.prompts} prompts. Pairs per prompt split: "
        + ", ".join(f"{k} {v}" for k, v in summary.splits.items())
        + ".",
        "",
        f"Profile lines that are not `key: value`: {summary.unparsed_lines} (kept as unparsed details). "
        f"Keys beyond the 33 attributes (kept as details), by personas holding them: "
        + (", ".join(f"`{k}` {v}" for k, v in summary.unknown_keys.items()) or "none")
        + ".",
        "",
        f"## Rows kept out: {len(summary.rejected)}",
        "",
    ]
    if summary.rejected:
        lines += ["Rows are numbered from 0, as `datasets` counts them; `import.json` lists every one.", ""]
        lines += ["| row | reason |", "|---|---|"]
        lines += [f"| {r.row} | {r.reason} |" for r in summary.rejected[:SHOWN_REJECTED]]
        if len(summary.rejected) > SHOWN_REJECTED:
            lines.append(f"| ... | {len(summary.rejected) - SHOWN_REJECTED} more |")
    if split is not None:
        lines += ["", "## Persona split", "", _split_markdown(split)]
    return "\n".join(lines).rstrip() + "\n"
