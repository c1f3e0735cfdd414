"""PUMS decoding against PUMS-format fixtures built from the data dictionary's own codes, and bad input."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pums_files import write_pums

from persona.data.census import CensusSample
from persona.data.dictionary import load_dictionary, parse_dictionary
from persona.data.pums import GROUPS, PUMS_FIELDS, PumsError, read_pums, required_columns, resolve_source

OFFICIAL = Path(__file__).resolve().parents[2] / "shared" / "reference" / "PUMS_Data_Dictionary_2023.csv"


def _expected(variable, raw: str, rule: str) -> str | None:
    """What the dictionary says a raw field means, worked out independently of the decoder."""
    code = raw if raw else "b" * variable.width
    code = code.zfill(variable.width) if code.isdigit() else code
    label = variable.labels[code]
    if label.startswith("N/A"):
        return None
    if rule == "category" and label[3:4] == "-":
        return GROUPS[variable.name][label[:3]]
    return label


@pytest.mark.parametrize("pad", [True, False], ids=["zero-padded", "unpadded"])
def test_every_mapped_variable_decodes_to_its_dictionary_label(tmp_path, pad):
    person_path, housing_path = write_pums(tmp_path, rows=1500, seed=3, pad=pad)
    sample = read_pums([person_path], [housing_path])
    assert sample.census_backed == tuple(f.attribute for f in PUMS_FIELDS)
    raw_people = pd.read_csv(person_path, dtype=str, keep_default_na=False)
    raw_homes = pd.read_csv(housing_path, dtype=str, keep_default_na=False).set_index("SERIALNO")
    variables = load_dictionary()
    seen_blank = set()
    for i in range(len(raw_people)):
        decoded = sample.attributes(i)
        for field in PUMS_FIELDS:
            if field.rule not in ("label", "category"):
                continue
            raw = (
                raw_people.at[i, field.variable]
                if field.record == "person"
                else raw_homes.at[raw_people.at[i, "SERIALNO"], field.variable]
            )
            assert decoded[field.attribute] == _expected(variables[field.variable], raw, field.rule), (i, field)
            seen_blank.add(field.variable) if raw == "" else None
    # Blank (N/A) codes were exercised for every variable that has one.
    assert seen_blank == {
        f.variable
        for f in PUMS_FIELDS
        if f.rule in ("label", "category") and variables[f.variable].blank() in variables[f.variable].labels
    }


def test_age_income_and_top_codes(tmp_path):
    person_path, housing_path = write_pums(tmp_path, rows=800, seed=1)
    raw = pd.read_csv(person_path)
    sample = read_pums([person_path], [housing_path])
    for i in range(len(raw)):
        decoded = sample.attributes(i)
        assert decoded["age"] == str(raw.at[i, "AGEP"])
        if pd.isna(raw.at[i, "PINCP"]):
            assert decoded["income"] is None  # N/A under 15 (the age rules render it as 0 on personas)
        else:
            assert decoded["income"] == str(round(raw.at[i, "PINCP"] * 1.019518))
    assert 99 in set(raw["AGEP"]) and sample.frame["age"].max() == 99  # top-coded age
    top = raw.index[raw["PINCP"] == 4_209_995][0]
    assert sample.attributes(top)["income"] == "4292166"  # top-coded income: 4,209,995 x 1.019518 = 4,292,165.7
    loss = raw.index[raw["PINCP"] == -19_998][0]
    assert sample.attributes(loss)["income"] == "-20388"


def test_industry_and_occupation_become_readable_groups(tmp_path):
    person_path, _ = write_pums(tmp_path, rows=10)
    frame = pd.read_csv(person_path, dtype=str, keep_default_na=False)
    frame.loc[0, ["INDP", "OCCP"]] = ["0170", "0010"]
    frame.loc[1, ["INDP", "OCCP"]] = ["9920", "9920"]
    frame.loc[2, ["INDP", "OCCP"]] = ["", ""]
    frame.to_csv(person_path, index=False)
    sample = read_pums([person_path])
    rows = [sample.attributes(i) for i in range(3)]
    assert rows[0]["industry category"] == "Agriculture, forestry, fishing and hunting"
    assert rows[0]["occupation category"] == "Management"
    assert rows[1]["industry category"].startswith("Unemployed, With No Work Experience")
    assert rows[2]["industry category"] is None and rows[2]["occupation category"] is None


def test_housing_join_and_missing_housing(tmp_path):
    person_path, housing_path = write_pums(tmp_path, rows=40)
    sample = read_pums([person_path], [housing_path])
    assert sample.attributes(0)["household type"] == sample.attributes(1)["household type"]  # same SERIALNO
    alone = read_pums([person_path])
    assert "household type" not in alone.census_backed and "household type" not in alone.attributes(0)
    homes = pd.read_csv(housing_path, dtype=str, keep_default_na=False)
    homes.iloc[1:].to_csv(housing_path, index=False)  # household of persons 0 and 1 has no housing record
    partial = read_pums([person_path], [housing_path])
    assert partial.attributes(0)["household language"] is None and partial.attributes(2)["household language"]


def test_zips_and_folders_resolve_to_person_and_housing_files(tmp_path):
    person_path, housing_path = write_pums(tmp_path / "raw", rows=30)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    for name, path in (("csv_pca.zip", person_path), ("csv_hca.zip", housing_path)):
        with zipfile.ZipFile(downloads / name, "w") as archive:
            archive.write(path, path.name)
            archive.writestr("ACS2023_PUMS_README.pdf", b"%PDF")
    person, housing = resolve_source(downloads)
    assert [p.name for p in person] == ["csv_pca.zip"] and [p.name for p in housing] == ["csv_hca.zip"]
    from_zip = read_pums(person, housing)
    from_csv = read_pums(*resolve_source(person_path))  # a person file finds its housing file beside it
    assert from_zip.frame.equals(from_csv.frame)
    assert np.array_equal(from_zip.weights, from_csv.weights)


def test_weighted_sampling_follows_person_weights_and_the_seed():
    frame = pd.DataFrame({"age": np.arange(100.0)})
    weights = np.ones(100)
    weights[42] = 9_900  # 99% of the population
    sample = CensusSample("weighted", frame, weights, ("age",))
    draws = [sample.draw(np.random.default_rng([7, i])) for i in range(2000)]
    share = draws.count(42) / len(draws)
    assert abs(share - 0.99) < 0.01  # binomial sd ~0.0022
    assert draws == [sample.draw(np.random.default_rng([7, i])) for i in range(2000)]
    assert draws != [sample.draw(np.random.default_rng([8, i])) for i in range(2000)]
    uniform = CensusSample("uniform", frame, np.ones(100), ("age",))
    counts = np.bincount([uniform.draw(np.random.default_rng([1, i])) for i in range(20000)], minlength=100)
    assert counts.min() > 130 and counts.max() < 275  # 200 expected each


def test_shipped_dictionary_rows_are_the_official_ones():
    if not OFFICIAL.exists():
        pytest.skip("the official dictionary lives beside the checkout only in development")
    official = parse_dictionary(OFFICIAL.read_text(encoding="utf-8-sig"))
    shipped = load_dictionary()
    for name, variable in shipped.items():
        assert variable == official[name], name


# --- bad input: one clear error naming the file and the problem -------------------------------------------


def test_missing_column_names_file_and_column(tmp_path):
    person_path, _ = write_pums(tmp_path, rows=5)
    pd.read_csv(person_path, dtype=str).drop(columns=["SCHL", "PWGTP"]).to_csv(person_path, index=False)
    with pytest.raises(PumsError, match=r"psam_p06.csv: missing required PUMS person columns \['SCHL', 'PWGTP'\]"):
        read_pums([person_path])


def test_non_csv_and_corrupt_zip_and_bad_codes(tmp_path):
    binary = tmp_path / "psam_p06.csv"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(PumsError, match=r"psam_p06.csv: not a CSV file"):
        read_pums([binary])
    broken = tmp_path / "csv_pca.zip"
    broken.write_bytes(b"PK\x03\x04 truncated download")
    with pytest.raises(PumsError, match=r"csv_pca.zip: not a valid zip file"):
        read_pums([broken])
    empty_zip = tmp_path / "csv_pny.zip"
    with zipfile.ZipFile(empty_zip, "w") as archive:
        archive.writestr("readme.txt", "nothing here")
    with pytest.raises(PumsError, match=r"csv_pny.zip: the zip holds no psam_p\*.csv person file"):
        read_pums([empty_zip])

    person_path, _ = write_pums(tmp_path / "codes", rows=5)
    frame = pd.read_csv(person_path, dtype=str, keep_default_na=False)
    frame.loc[3, "RAC1P"] = "0"
    frame.to_csv(person_path, index=False)
    with pytest.raises(PumsError, match=r"psam_p06.csv: line 5: RAC1P code '0' is not in the PUMS data dictionary"):
        read_pums([person_path])
    frame.loc[3, "RAC1P"] = "1"
    frame.loc[2, "AGEP"] = "140"
    frame.to_csv(person_path, index=False)
    with pytest.raises(PumsError, match=r"line 4: AGEP value 140 is outside the data dictionary's range"):
        read_pums([person_path])


def test_required_columns_come_from_the_mapping_table():
    person = required_columns("person")
    assert {"SERIALNO", "PWGTP", "ADJINC", "AGEP", "PINCP", "OCCP"} <= set(person)
    assert set(required_columns("housing")) == {"SERIALNO", "HHL", "HHT2", "FPARC"}


def test_dictionary_parser_reads_the_census_layout():
    text = 'NAME,SEX,C,1,"Sex"\nVAL,SEX,C,1,"1","1","Male"\nVAL,SEX,C,1,"2","2","Female"\n'
    text += 'NAME,AGEP,N,2,"Age"\nVAL,AGEP,N,2,0,0,"Under 1 year"\nVAL,AGEP,N,2,1,99,"1 to 99 years (Top-coded)"\n'
    variables = parse_dictionary(text)
    assert variables["SEX"].labels == {"1": "Male", "2": "Female"}
    assert variables["AGEP"].ranges == [(1, 99, "1 to 99 years (Top-coded)")]
    assert variables["SEX"].normalise(" ") == "b" and variables["AGEP"].normalise("7") == "07"
    with pytest.raises(ValueError, match=r"dict.csv:1: not a PUMS dictionary row"):
        parse_dictionary("garbage,row\n", "dict.csv")
