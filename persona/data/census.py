"""Census sources mapped onto persona attributes. The embedded source is the bundled ACS 2012 sample."""

from __future__ import annotations

from importlib.resources import files

import pandas as pd

ACS12_COLUMNS = ("income", "employment", "race", "age", "gender", "citizen", "lang", "married", "edu", "disability")

# One decode table per attribute: acs12 column -> {code: label}. Labels follow the ACS wording where one exists.
ACS12_DECODE: dict[str, tuple[str, dict[str, str]]] = {
    "sex": ("gender", {"male": "Male", "female": "Female"}),
    "race": (
        "race",
        {"white": "White", "black": "Black or African American", "asian": "Asian", "other": "Some other race"},
    ),
    "education": (
        "edu",
        {"hs or lower": "High school or lower", "college": "College degree", "grad": "Graduate degree"},
    ),
    "employment status": (
        "employment",
        {"employed": "Employed", "unemployed": "Unemployed", "not in labor force": "Not in labor force"},
    ),
    "marital status": ("married", {"yes": "Married", "no": "Not married"}),
    "citizenship": ("citizen", {"yes": "U.S. citizen", "no": "Not a U.S. citizen"}),
    "household language": ("lang", {"english": "English only", "other": "Language other than English"}),
    "disability": ("disability", {"yes": "With a disability", "no": "Without a disability"}),
}

# What the embedded source backs with census data; everything else is procedural or left null.
ACS12_CENSUS_BACKED: tuple[str, ...] = ("age", "income", *ACS12_DECODE)


def load_acs12() -> pd.DataFrame:
    """The bundled ACS 2012 sample (2,000 respondents; U.S. Census Bureau via OpenIntro, see SOURCES.md)."""
    with files("persona.data.reference").joinpath("acs12.csv").open("rb") as handle:
        frame = pd.read_csv(handle, usecols=list(ACS12_COLUMNS))
    missing = set(ACS12_COLUMNS) - set(frame.columns)
    if missing:
        raise ValueError(f"acs12.csv lacks columns {sorted(missing)}")
    return frame


def decode_acs12(frame: pd.DataFrame) -> list[dict[str, str | None]]:
    """Decode acs12 rows into persona attributes; codes outside a table are an error, blanks become null."""
    decoded: list[dict[str, str | None]] = [{} for _ in range(len(frame))]
    for attribute, (column, table) in ACS12_DECODE.items():
        for row, code in zip(decoded, frame[column], strict=True):
            if pd.isna(code):
                row[attribute] = None
            elif code in table:
                row[attribute] = table[code]
            else:
                raise ValueError(f"acs12 column {column!r}: unknown code {code!r}")
    for row, age, income in zip(decoded, frame["age"], frame["income"], strict=True):
        row["age"] = str(int(age))
        # Income is "not in universe" (blank) under 15 in the ACS; keep it null rather than inventing a zero.
        row["income"] = None if pd.isna(income) else str(int(income))
    return decoded
