"""User mistakes found by probing: each is one ``InputError`` naming the file (and line or row), never a traceback."""

from __future__ import annotations

import json
import zipfile

import pandas as pd
import pytest
from pums_files import write_pums

from persona.data.io import iter_jsonl
from persona.data.prompts import load_prompts
from persona.data.pums import PumsError, read_pums
from persona.errors import InputError
from persona.experiments.agreement import AnnotationError, load_annotations, read_annotations
from persona.metrics.slices import Predicate, PredicateError, slice_accuracy

HEADER = "annotator,persona_id,item_id,choice\n"


# --- PUMS --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("column", ["PWGTP", "AGEP", "PINCP", "ADJINC"])
def test_pums_value_that_is_not_a_number_names_line_and_column(tmp_path, column):
    person_path, _ = write_pums(tmp_path, rows=5)
    frame = pd.read_csv(person_path, dtype=str, keep_default_na=False)
    frame.loc[2, column] = "12x"
    frame.to_csv(person_path, index=False)
    with pytest.raises(PumsError, match=rf"psam_p06\.csv: line 4: column {column} value '12x' is not a number"):
        read_pums([person_path])


def test_pums_numeric_column_blank_on_every_row_still_reads(tmp_path):
    person_path, _ = write_pums(tmp_path, rows=5)
    frame = pd.read_csv(person_path, dtype=str, keep_default_na=False)
    frame["AGEP"], frame["PINCP"] = "10", ""
    frame.to_csv(person_path, index=False)
    assert read_pums([person_path]).frame["income"].isna().all()


def _cut_last_line(text: str) -> str:
    """The file as a download cut off 30 characters into its last row."""
    body = text.rstrip("\n")
    return body[: body.rindex("\n") + 31]


def test_pums_file_cut_mid_row_is_reported_as_truncated(tmp_path):
    person_path, _ = write_pums(tmp_path, rows=5)
    complete = person_path.read_text()
    person_path.write_text(complete.rstrip("\n"))  # no final newline, but whole: fine
    assert len(read_pums([person_path]).frame) == 5
    person_path.write_text(_cut_last_line(complete))
    truncated = r"line 6: \d+ fields where the header has \d+; the file looks truncated or malformed \(re-download it\)"
    with pytest.raises(PumsError, match=rf"psam_p06\.csv: {truncated}"):
        read_pums([person_path])
    with zipfile.ZipFile(tmp_path / "csv_pca.zip", "w") as archive:
        archive.write(person_path, person_path.name)
    with pytest.raises(PumsError, match=rf"csv_pca\.zip!psam_p06\.csv: {truncated}"):
        read_pums([tmp_path / "csv_pca.zip"])


def test_pums_cut_with_real_layout_trailing_weights(tmp_path):
    """Real files end in replicate weights the reader skips; a cut there still reads as truncated."""
    person_path, _ = write_pums(tmp_path, rows=5)
    frame = pd.read_csv(person_path, dtype=str, keep_default_na=False)
    frame["PWGTP1"], frame["PWGTP2"] = "17", "23"
    person_path.write_text(frame.to_csv(index=False)[:-5])  # "...,1" (of "17,23") then end of file
    with pytest.raises(PumsError, match=r"line 6: \d+ fields where the header has \d+; the file looks truncated"):
        read_pums([person_path])


# --- JSONL -------------------------------------------------------------------------------------------------


def test_jsonl_that_is_not_utf8_names_file_and_line(tmp_path):
    path = tmp_path / "records.jsonl"
    path.write_bytes(b'{"a": 1}\n\x89PNG\r\n\x1a\n\xff\xfe\n')
    with pytest.raises(InputError, match=r"records\.jsonl:2: not UTF-8 text"):
        list(iter_jsonl(path))
    path.write_text('{"a": 1}\n[1]\n')
    with pytest.raises(InputError, match=r"records\.jsonl:2: expected a JSON object, got list"):
        list(iter_jsonl(path))
    path.write_text('{"a": 1}\n{"a":\n')
    with pytest.raises(InputError, match=r"records\.jsonl:2: not valid JSON"):
        list(iter_jsonl(path))


# --- prompts -----------------------------------------------------------------------------------------------


def test_prompt_ids_are_kept_exactly_as_written(tmp_path):
    csv_path = tmp_path / "asks.csv"
    csv_path.write_text("id,text\n0,zero\n007,seven\n,no id\n")
    assert [p.id for p in load_prompts(str(csv_path))] == ["0", "007", "asks-00004"]
    jsonl_path = tmp_path / "asks.jsonl"
    jsonl_path.write_text('{"id": 0, "text": "zero"}\n{"id": "007", "text": "seven"}\n{"text": "no id"}\n')
    assert [p.id for p in load_prompts(str(jsonl_path))] == ["0", "007", "asks-00003"]


# --- slices ------------------------------------------------------------------------------------------------


def test_over_long_or_over_deep_predicates_are_refused():
    with pytest.raises(PredicateError, match=r"12015 characters, over the limit of 2000"):
        Predicate("not " * 3000 + 'sex == "Female"')
    with pytest.raises(PredicateError, match=r"nested deeper than the limit of 50 levels"):
        Predicate("not " * 60 + 'sex == "Female"')
    assert Predicate("not " * 48 + 'sex == "Female"')({"sex": "Female"})


def test_empty_slice_has_a_row_per_mode():
    records = pd.DataFrame(
        {"persona_id": ["w", "w", "w"], "mode": ["direct", "cot", "cot"], "passed": [True, False, None]}
    )
    table = slice_accuracy(records, {"w": {"age": "30"}}, [Predicate("age > 90")])
    assert table["mode"].tolist() == ["cot", "direct"]
    assert table["personas"].tolist() == [0, 0] and table["answers"].tolist() == [0, 0]
    assert table["pass_rate"].isna().all()


# --- annotations -------------------------------------------------------------------------------------------


def test_header_only_annotation_file_has_no_rows(tmp_path):
    path = tmp_path / "human.csv"
    path.write_text(HEADER)
    with pytest.raises(AnnotationError, match=r"human\.csv: no annotation rows"):
        load_annotations([path])
    (tmp_path / "model.jsonl").write_text("\n")
    with pytest.raises(AnnotationError, match=r"model\.jsonl: no annotation rows"):
        read_annotations(tmp_path / "model.jsonl")


@pytest.mark.parametrize("choice", ["C", "b", "AB", "1"])
def test_annotation_choice_must_be_a_or_b(tmp_path, choice):
    path = tmp_path / "human.csv"
    path.write_text(HEADER + "h,p1,i1,A\n" + f"h,p1,i2,{choice}\n")
    with pytest.raises(
        AnnotationError, match=rf"human\.csv: row 2: choice '{choice}' is not allowed; a choice is A or B"
    ):
        read_annotations(path)
    rows = [{"annotator": "m", "persona_id": "p1", "item_id": "i1", "choice": "B"}]
    rows.append(rows[0] | {"item_id": "i2", "choice": choice})
    jsonl = tmp_path / "model.jsonl"
    jsonl.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with pytest.raises(AnnotationError, match=rf"model\.jsonl: row 2: choice '{choice}' is not allowed"):
        read_annotations(jsonl)


def test_annotation_choice_whitespace_is_stripped(tmp_path):
    path = tmp_path / "human.csv"
    path.write_text(HEADER + "h,p1,i1, A \nh,p1,i2,B\n")
    assert read_annotations(path)["choice"].tolist() == ["A", "B"]


def test_annotation_jsonl_that_is_not_utf8_is_an_annotation_error(tmp_path):
    path = tmp_path / "model.jsonl"
    path.write_bytes(b"\xff\xfe\x00\x01\n")
    with pytest.raises(AnnotationError, match=r"^\S*model\.jsonl:1: not UTF-8 text$"):
        read_annotations(path)
