"""``persona annotate create``: a study folder from a design, with everything the server and the export read."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import NamedTuple

from persona.data.io import atomic_write_text, make_folder, write_jsonl
from persona.errors import InputError
from persona.study.design import Plan, StudyDesign, plan_study, read_source
from persona.study.store import DB_NAME, Store, write_plan

ITEM_FIELDS = ("id", "question", "answer_a", "answer_b")


class Study(NamedTuple):
    folder: Path
    plan: Plan
    admin_token: str


def create_study(design: StudyDesign, out: Path | None = None) -> Study:
    """Plan the study and write it: study.json, personas.jsonl, items.jsonl, links.csv and the database.

    ``items.jsonl`` and ``personas.jsonl`` are in the formats ``persona agreement annotate`` reads, so model
    annotators can role-play exactly the questions the people saw. An existing study is never overwritten: its
    links are out in the world.
    """
    folder = Path(out) if out is not None else design.default_dir()
    if (folder / DB_NAME).exists():
        raise InputError(f"{folder}: a study already exists here; give another --out")
    plan = plan_study(design, read_source(design))
    make_folder(folder)
    atomic_write_text(folder / "study.json", design.model_dump_json(indent=2) + "\n")
    write_jsonl(folder / "personas.jsonl", (p.model_dump() for p in plan.personas))
    write_jsonl(
        folder / "items.jsonl",
        (
            {k: v for k, v in item.model_dump().items() if k in ITEM_FIELDS or (k == "chosen" and v)}
            for item in plan.items
            if not item.attention
        ),
    )
    write_plan(folder / DB_NAME, design, plan)
    store = Store(folder)
    if design.entry == "links":
        write_links(folder, store)
    return Study(folder, plan, store.meta("admin_token"))


def write_links(folder: Path, store: Store) -> None:
    """links.csv: one personal link path per annotator, readable by its owner only (a link is a credential)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["annotator", "persona_id", "path"])
    for row in store.assignments():
        writer.writerow([row["label"], row["persona_id"], f"/a/{row['token']}"])
    atomic_write_text(folder / "links.csv", buffer.getvalue(), private=True)
