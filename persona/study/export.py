"""``persona annotate export``: a study's answers in the format ``persona agreement compute`` reads, and the human
majority label the paper compares model annotators against.

Choices are reported in the original orientation of each question (``answer_a`` of items.jsonl is A), whatever side
an annotator saw it on; the side shown first is a column of its own. Attention checks never enter the annotations:
they decide which annotators count.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from persona.data.io import atomic_write_text, make_folder, write_jsonl
from persona.metrics import majority_labels
from persona.study.store import Store

MAJORITY = "human-majority"
ANNOTATION_COLUMNS = [
    "annotator", "persona_id", "item_id", "choice", "justification", "shown_first", "shown_choice", "position",
    "first_shown_at", "first_answered_at", "answered_at", "seconds", "revisions",
]  # fmt: skip


class Export(NamedTuple):
    folder: Path
    annotations: pd.DataFrame
    majority: pd.DataFrame
    unresolved: pd.DataFrame
    annotators: pd.DataFrame


def _seconds(start: object, end: object) -> float | None:
    if not isinstance(start, str) or not isinstance(end, str):
        return None  # answered by a POST without the page ever shown
    return round((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds(), 3)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a cell a spreadsheet would run as a formula (OWASP)


def spreadsheet_safe(value: object) -> object:
    """Text that a spreadsheet would run as a formula, with a leading apostrophe so it is shown as text."""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_START) else value


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    text = frame.map(spreadsheet_safe) if len(frame) else frame
    atomic_write_text(path, text.to_csv(index=False), private=True)


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    return [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in frame.to_dict("records")]


def export_study(
    folder: Path,
    out: Path | None = None,
    majority: int | None = None,
    keep_failed_attention: bool = False,
    include_unsubmitted: bool = False,
) -> Export:
    """Write annotations.csv, majority.csv, unresolved.csv, attention.csv, annotators.csv and export.md.

    Counted annotators: those who submitted (``include_unsubmitted`` adds the rest) and passed every attention
    check (``keep_failed_attention`` keeps those who did not). ``majority`` (default: the study's) is how many of a
    persona's counted annotators must agree for the majority label; an item short of it, ties included, goes to
    unresolved.csv with its votes and is never guessed.
    """
    store = Store(folder)
    design = store.design()
    threshold = design.majority if majority is None else majority
    out = Path(out) if out is not None else Path(folder) / "export"
    people = pd.DataFrame(store.assignments())
    people["counted"] = (people["status"] == "submitted") | (include_unsubmitted & (people["answered"] > 0))
    people["counted"] &= keep_failed_attention | (people["checks_failed"] == 0)
    counted = set(people.loc[people["counted"], "label"])
    columns = list(dict.fromkeys([*ANNOTATION_COLUMNS, "attention", "swapped", "expected"]))
    answers = pd.DataFrame(store.answers(), columns=columns)
    answers["shown_first"] = answers["swapped"].map({0: "A", 1: "B"})
    answers["seconds"] = [
        _seconds(a, b) for a, b in zip(answers["first_shown_at"], answers["first_answered_at"], strict=True)
    ]
    attention = answers[answers["attention"] == 1].assign(passed=lambda f: f["choice"] == f["expected"])
    annotations = answers[(answers["attention"] == 0) & answers["annotator"].isin(counted)][ANNOTATION_COLUMNS]
    labels, unresolved = majority_labels(annotations, threshold)
    majority_rows = labels.assign(annotator=MAJORITY)[
        ["annotator", "persona_id", "item_id", "choice", "votes_a", "votes_b", "annotators"]
    ]

    make_folder(out)
    # Free text, Prolific ids and completion codes: every file is its owner's only, and CSV cells are spreadsheet-safe
    # (annotations.jsonl keeps the text exactly as typed).
    write_jsonl(out / "annotations.jsonl", _records(annotations), private=True)
    _write_csv(out / "annotations.csv", annotations)
    _write_csv(out / "majority.csv", majority_rows)
    _write_csv(out / "unresolved.csv", unresolved)
    _write_csv(
        out / "attention.csv",
        attention[["annotator", "persona_id", "item_id", "position", "expected", "choice", "passed"]],
    )
    people_columns = [
        "label", "persona_id", "status", "counted", "answered", "total", "checks", "checks_failed", "started_at",
        "submitted_at", "prolific_pid", "prolific_session", "prolific_study", "completion_code",
    ]  # fmt: skip
    annotators = people[people_columns].rename(columns={"label": "annotator"})
    _write_csv(out / "annotators.csv", annotators)
    result = Export(out, annotations.reset_index(drop=True), majority_rows, unresolved, annotators)
    atomic_write_text(out / "export.md", render_export(result, threshold, design.annotators), private=True)
    return result


def render_export(result: Export, threshold: int, per_persona: int) -> str:
    people = result.annotators
    status = people["status"].value_counts()
    failed = int((people["checks_failed"] > 0).sum())
    ties = int((result.unresolved["reason"] == "tie").sum()) if len(result.unresolved) else 0
    lines = [
        "# Study export",
        "",
        f"{len(people)} assignments: {status.get('submitted', 0)} submitted, {status.get('in progress', 0)} in "
        f"progress, {status.get('not started', 0)} not started. {failed} annotators failed an attention check. "
        f"{int(people['counted'].sum())} annotators are counted, with {len(result.annotations)} answers "
        "(annotations.csv).",
        "",
        f"Human majority (`{MAJORITY}`, majority.csv): a label where at least {threshold} of a persona's "
        f"{per_persona} annotators agree; {len(result.majority)} items have one, {len(result.unresolved)} do not "
        f"({ties} ties), listed with their votes in unresolved.csv.",
        "",
        "Compare with model annotators:",
        "",
        "```bash",
        "persona agreement annotate --items STUDY/items.jsonl --personas STUDY/personas.jsonl "
        "--like EXPORT/annotations.csv --model MODEL",
        "persona agreement compute EXPORT/annotations.csv EXPORT/majority.csv RUN/annotations.jsonl",
        "```",
        "",
    ]
    return "\n".join(lines)
