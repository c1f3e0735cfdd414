"""The published PERSONA layout in and out, and whole personas split into train and test_unseen."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from published_files import profile, published_frame, write
from typer.testing import CliRunner

from persona.cli import app
from persona.data.io import read_jsonl
from persona.data.persona import Persona, read_personas
from persona.data.published import parse_profile, persona_id
from persona.data.splits import persona_splits, unseen_count
from persona.errors import InputError

runner = CliRunner()


def _import(source: Path, out: Path, *extra: str):
    result = runner.invoke(app, ["pairs", "import", str(source), "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl", ".csv"])
def test_import_then_export_gives_back_the_published_rows_exactly(tmp_path, suffix):
    frame = published_frame()
    if suffix == ".csv":  # a CSV has no nulls: a missing critique is an empty cell, and comes back as one
        frame = frame.fillna("")
    source = write(frame, tmp_path / f"persona{suffix}")
    _import(source, tmp_path / "run")
    exported = runner.invoke(app, ["pairs", "export", str(tmp_path / "run"), "--format", "persona"])
    assert exported.exit_code == 0, exported.output
    back = pd.read_parquet(tmp_path / "run" / "export" / "persona.parquet")
    assert list(back.columns) == list(frame.columns)
    assert back.astype(object).where(back.notna(), None).to_dict("records") == frame.astype(object).where(
        frame.notna(), None
    ).to_dict("records")


def test_personas_are_one_per_profile_text_with_attributes_parsed(tmp_path):
    _import(write(published_frame(personas=4, prompts=3), tmp_path / "p.parquet"), tmp_path / "run")
    personas = read_personas(tmp_path / "run" / "personas.jsonl")
    assert [p.id for p in personas] == [persona_id(profile(n)) for n in range(4)]
    first, second = personas[0], personas[1]
    assert first.attributes["age"] == "20" and second.attributes["age"] == "21"  # "21.0" is a whole number
    assert first.attributes["income"] == "178900" and first.attributes["ability to speak English"] is not None
    assert [first.attributes[k] for k in ("fertility", "class of worker", "vision difficulty")] == [None] * 3
    assert first.profile == {"favourite colour": "green", "unparsed line 35": "likes long walks"}
    assert second.profile == {}
    pairs = read_jsonl(tmp_path / "run" / "pairs.jsonl")
    assert len(pairs) == 12 and {p["persona_id"] for p in pairs} == {p.id for p in personas}
    assert [p["split"] for p in pairs[:3]] == ["train", "train", "test_heldout"]  # from `question type`
    assert pairs[0]["chosen"] == "An answer for persona 0 to 0." and pairs[0]["rejected"] == "A generic answer to 0."
    summary = json.loads((tmp_path / "run" / "import.json").read_text())
    assert (summary["unparsed_lines"], summary["unknown_keys"]) == (2, {"favourite colour": 2})


def test_parse_profile_keeps_every_line():
    persona, unknown, unparsed = parse_profile("Age: 33\nSEX: Male\nhobby: chess\nno colon here\n\nreligion: none")
    assert [persona.attributes[k] for k in ("age", "sex", "religion")] == ["33", "Male", None]
    assert persona.profile == {"hobby": "chess", "unparsed line 4": "no colon here"}
    assert (unknown, unparsed) == (["hobby"], 1)


def test_bad_rows_are_kept_out_and_listed_by_row_number(tmp_path):
    frame = published_frame(personas=2, prompts=3)
    frame.loc[1, "data"] = "  "
    frame.loc[2, "persona"] = None
    frame.loc[4, "original"] = None
    frame.loc[5, "question type"] = "validation"
    frame = pd.concat([frame, frame.iloc[[3]]], ignore_index=True)  # row 6 repeats row 3's (persona, instruction)
    _import(write(frame, tmp_path / "p.parquet"), tmp_path / "run")
    summary = json.loads((tmp_path / "run" / "import.json").read_text())
    assert [(r["row"], r["reason"]) for r in summary["rejected"]] == [
        (1, "empty chosen (data)"),
        (2, "no persona"),
        (4, "empty rejected"),
        (5, "question type not train/test"),
        (6, "duplicate (persona, instruction) of an earlier row"),
    ]
    assert summary["pairs"] == 2 and summary["rows"] == 7
    assert "| 6 | duplicate (persona, instruction) of an earlier row |" in (tmp_path / "run" / "import.md").read_text()


def test_a_missing_column_is_named_with_the_columns_found_and_nothing_is_written(tmp_path):
    source = write(published_frame().drop(columns=["question type"]), tmp_path / "p.parquet")
    result = runner.invoke(app, ["pairs", "import", str(source), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert "missing columns ['question type']" in message and "'instruction'" in message
    assert not (tmp_path / "run").exists()


def test_an_import_never_overwrites_a_pairs_run_dir(tmp_path):
    source = write(published_frame(), tmp_path / "p.parquet")
    _import(source, tmp_path / "run")
    before = (tmp_path / "run" / "pairs.jsonl").read_bytes()
    again = runner.invoke(app, ["pairs", "import", str(source), "--out", str(tmp_path / "run"), "--unseen", "0.5"])
    assert again.exit_code == 2 and "already holds pairs.jsonl" in again.output
    assert (tmp_path / "run" / "pairs.jsonl").read_bytes() == before


def _personas(n: int, groups: int = 3) -> list[Persona]:
    return [
        Persona.from_attributes({"age": str(20 + i), "race": f"group {i % groups}" if i % 7 else None})
        for i in range(n)
    ]


def test_the_papers_split_is_a_count_and_a_share_is_rounded():
    assert unseen_count(1568, 568) == 568 and unseen_count(1568, 0.36) == 564
    sides = persona_splits(_personas(1568), 568, seed=0)
    assert sum(s == "test_unseen" for s in sides.values()) == 568
    with pytest.raises(InputError, match="leaves no persona on one side"):
        unseen_count(10, 10)
    with pytest.raises(InputError, match="whole number"):
        unseen_count(10, 2.5)


def test_a_split_is_seeded_and_independent_of_list_order():
    people = _personas(40)
    sides = persona_splits(people, 0.25, seed=3)
    assert persona_splits(list(reversed(people)), 0.25, seed=3) == sides
    assert persona_splits(people, 0.25, seed=4) != sides


def test_a_stratified_split_puts_every_group_on_both_sides():
    people = _personas(60, groups=5)
    sides = persona_splits(people, 0.3, seed=1, stratify="race")
    for value in {p.attributes["race"] for p in people}:
        members = {sides[p.id] for p in people if p.attributes["race"] == value}
        assert members == {"train", "test_unseen"}, value
    assert sum(s == "test_unseen" for s in sides.values()) == 18
    with pytest.raises(InputError, match="'hair colour' is not a persona attribute"):
        persona_splits(people, 0.3, seed=1, stratify="hair colour")


def test_pairs_split_marks_whole_personas_and_exports_carry_both_splits(tmp_path):
    _import(write(published_frame(personas=10, prompts=3), tmp_path / "p.parquet"), tmp_path / "run")
    split = ["pairs", "split", str(tmp_path / "run"), "--unseen", "0.3", "--stratify", "sex"]
    result = runner.invoke(app, [*split, "--out", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    pairs = read_jsonl(tmp_path / "s" / "pairs.jsonl")
    assert list(pairs[0])[:4] == ["persona_id", "prompt_id", "split", "persona_split"]
    by_persona: dict[str, set[str]] = {}
    for row in pairs:
        by_persona.setdefault(row["persona_id"], set()).add(row["persona_split"])
    assert all(len(sides) == 1 for sides in by_persona.values())  # never on both sides
    assert sum(sides == {"test_unseen"} for sides in by_persona.values()) == 3
    assert "| test_unseen | 3 | 9 | train 6, test_heldout 3 |" in (tmp_path / "s" / "split.md").read_text()

    exported = runner.invoke(app, ["pairs", "export", str(tmp_path / "s"), "--format", "trl"])
    assert exported.exit_code == 0, exported.output
    names = sorted(p.name for p in (tmp_path / "s" / "export").iterdir())
    assert names == [f"{side}.{part}.jsonl" for side in ("test_unseen", "train") for part in ("test_heldout", "train")]
    runner.invoke(app, ["pairs", "export", str(tmp_path / "s"), "--out", str(tmp_path / "pq")])
    table = pd.read_parquet(tmp_path / "pq" / "train.parquet")
    assert set(table["persona_split"]) == {"train", "test_unseen"}
    export = ["pairs", "export", str(tmp_path / "s"), "--format", "persona"]
    published = runner.invoke(app, [*export, "--out", str(tmp_path / "pp")])
    assert published.exit_code == 0
    assert len(pd.read_parquet(tmp_path / "pp" / "persona.parquet")) == 30


def test_a_split_that_meets_an_unknown_persona_names_its_line_and_writes_nothing(tmp_path):
    _import(write(published_frame(personas=4, prompts=2), tmp_path / "p.parquet"), tmp_path / "run")
    personas = (tmp_path / "run" / "personas.jsonl").read_text().splitlines()
    (tmp_path / "run" / "personas.jsonl").write_text("\n".join(personas[:-1]) + "\n")  # the last persona is gone
    split = ["pairs", "split", str(tmp_path / "run"), "--unseen", "1"]
    result = runner.invoke(app, [*split, "--out", str(tmp_path / "s")])
    message = " ".join(result.output.split())
    assert result.exit_code == 2 and "line 7: persona" in message and "is not in personas.jsonl" in message
    assert not (tmp_path / "s").exists() or not any((tmp_path / "s").iterdir())
