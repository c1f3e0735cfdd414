"""ACS PUMS person and housing files decoded onto persona attributes through the official data dictionary."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from persona.data.census import CensusSample
from persona.data.dictionary import Variable, load_dictionary
from persona.errors import InputError


class PumsError(InputError):
    """A PUMS file that cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class PumsField:
    """One row of the mapping: which persona attribute comes from which PUMS variable, and how it is decoded.

    Rules: ``label`` looks the code up in the dictionary (``N/A`` labels become null); ``category`` keeps the
    industry/occupation group named by the label's prefix; ``age`` is the number itself; ``income`` is PINCP in
    constant dollars (times ADJINC).
    """

    attribute: str
    variable: str
    record: str
    rule: str


PUMS_FIELDS: tuple[PumsField, ...] = tuple(
    PumsField(*row)
    for row in (
        ("age", "AGEP", "person", "age"),
        ("sex", "SEX", "person", "label"),
        ("race", "RAC1P", "person", "label"),
        ("ancestry", "ANC1P", "person", "label"),
        ("household language", "HHL", "housing", "label"),
        ("education", "SCHL", "person", "label"),
        ("employment status", "ESR", "person", "label"),
        ("class of worker", "COW", "person", "label"),
        ("industry category", "INDP", "person", "category"),
        ("occupation category", "OCCP", "person", "category"),
        ("income", "PINCP", "person", "income"),
        ("marital status", "MAR", "person", "label"),
        ("household type", "HHT2", "housing", "label"),
        ("family presence and age", "FPARC", "housing", "label"),
        ("place of birth", "POBP", "person", "label"),
        ("citizenship", "CIT", "person", "label"),
        ("veteran status", "MIL", "person", "label"),
        ("disability", "DIS", "person", "label"),
        ("health insurance", "HICOV", "person", "label"),
        ("cognitive difficulty", "DREM", "person", "label"),
        ("ability to speak English", "ENG", "person", "label"),
        ("vision difficulty", "DEYE", "person", "label"),
        ("fertility", "FER", "person", "label"),
        ("hearing difficulty", "DEAR", "person", "label"),
    )
)
KEY, WEIGHT, ADJUSTMENT = "SERIALNO", "PWGTP", "ADJINC"

# Industry and occupation labels start with a three-letter group code (e.g. "MED-Offices Of Physicians");
# these are the groups' readable names.
INDUSTRY_GROUPS = {
    "AGR": "Agriculture, forestry, fishing and hunting",
    "EXT": "Mining, quarrying, and oil and gas extraction",
    "UTL": "Utilities",
    "CON": "Construction",
    "MFG": "Manufacturing",
    "WHL": "Wholesale trade",
    "RET": "Retail trade",
    "TRN": "Transportation and warehousing",
    "INF": "Information",
    "FIN": "Finance, insurance, and real estate",
    "PRF": "Professional, scientific, management, and administrative services",
    "EDU": "Educational services",
    "MED": "Health care",
    "SCA": "Social assistance",
    "ENT": "Arts, entertainment, recreation, accommodation, and food services",
    "SRV": "Other services, except public administration",
    "ADM": "Public administration",
    "MIL": "Military",
}
OCCUPATION_GROUPS = {
    "MGR": "Management",
    "BUS": "Business operations",
    "FIN": "Financial operations",
    "CMM": "Computer and mathematical",
    "ENG": "Architecture and engineering",
    "SCI": "Life, physical, and social science",
    "CMS": "Community and social service",
    "LGL": "Legal",
    "EDU": "Educational instruction and library",
    "ENT": "Arts, design, entertainment, sports, and media",
    "MED": "Healthcare practitioners and technical",
    "HLS": "Healthcare support",
    "PRT": "Protective service",
    "EAT": "Food preparation and serving",
    "CLN": "Building and grounds cleaning and maintenance",
    "PRS": "Personal care and service",
    "SAL": "Sales and related",
    "OFF": "Office and administrative support",
    "FFF": "Farming, fishing, and forestry",
    "CON": "Construction",
    "EXT": "Extraction",
    "RPR": "Installation, maintenance, and repair",
    "PRD": "Production",
    "TRN": "Transportation and material moving",
    "MIL": "Military specific",
}
GROUPS = {"INDP": INDUSTRY_GROUPS, "OCCP": OCCUPATION_GROUPS}
_GROUP_PREFIX = re.compile(r"^([A-Z]{3})-")


def required_columns(record: str) -> list[str]:
    """The columns a person or housing file must have."""
    columns = [KEY] + [f.variable for f in PUMS_FIELDS if f.record == record]
    if record == "person":
        columns += [WEIGHT, ADJUSTMENT]
    return columns


def resolve_source(path: Path) -> tuple[list[Path], list[Path]]:
    """Person and housing files for ``pums:PATH``: a folder of downloads, or one person file (housing beside it)."""
    path = Path(path)
    if path.is_dir():
        person = sorted([*path.glob("psam_p*.csv"), *path.glob("csv_p*.zip")])
        housing = sorted([*path.glob("psam_h*.csv"), *path.glob("csv_h*.zip")])
        if not person:
            raise PumsError(f"{path}: no person files (psam_p*.csv or csv_p*.zip) in this folder")
        return person, housing
    if not path.exists():
        raise PumsError(f"{path}: no such file or folder")
    sibling = path.with_name(path.name.replace("psam_p", "psam_h", 1).replace("csv_p", "csv_h", 1))
    return [path], [sibling] if sibling != path and sibling.exists() else []


def _members(path: Path, record: str) -> Iterator[tuple[str, IO[bytes]]]:
    """Open each CSV of a file: the file itself, or the ``psam_<p|h>*.csv`` members of a Census zip."""
    if path.suffix.lower() != ".zip":
        with open(path, "rb") as handle:
            yield str(path), handle
        return
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise PumsError(f"{path}: not a valid zip file (corrupt or incomplete download?)") from None
    with archive:
        pattern = re.compile(rf"psam_{record[0]}\w*\.csv", re.IGNORECASE)
        names = [n for n in archive.namelist() if pattern.fullmatch(Path(n).name)]
        if not names:
            raise PumsError(f"{path}: the zip holds no psam_{record[0]}*.csv {record} file")
        for name in names:
            try:
                with archive.open(name) as handle:
                    yield f"{path}!{name}", handle
            except (zipfile.BadZipFile, EOFError, OSError) as exc:
                raise PumsError(f"{path}!{name}: corrupt zip member ({exc})") from None


class _RowCheck:
    """Collects rows whose field count differs from the header's, which pyarrow would otherwise report without the
    row's place; a download cut off mid-row leaves exactly one, at the end."""

    def __init__(self) -> None:
        self.rows: list[pa_csv.InvalidRow] = []

    def __call__(self, row: pa_csv.InvalidRow) -> str:
        self.rows.append(row)
        return "skip"

    def check(self, name: str, rows_read: int, last_line: bytes) -> None:
        if not self.rows:
            return
        row = self.rows[0]
        if len(self.rows) == 1 and row.text.strip() == last_line.decode("utf-8", "replace").strip():
            place = f"line {rows_read + 2}"  # the header, the rows read, then this one
        else:
            place = f"a row starting {row.text[:40]!r}"
        raise PumsError(
            f"{name}: {place}: {row.actual_columns} fields where the header has {row.expected_columns}; "
            "the file looks truncated or malformed (re-download it)"
        )


class _Tail(io.RawIOBase):
    """Reads a binary handle through, keeping the last two reads, so the file's final line can be checked after."""

    def __init__(self, handle: IO[bytes]) -> None:
        super().__init__()
        self._handle = handle
        self._reads = (b"", b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._handle.read(len(buffer))
        buffer[: len(data)] = data
        if data:
            self._reads = (self._reads[1], data)
        return len(data)

    @property
    def last_line(self) -> bytes:
        return next((line for line in reversed(b"".join(self._reads).splitlines()) if line.strip()), b"")


def _read_table(name: str, handle: IO[bytes], record: str, dictionary: dict[str, Variable]) -> pd.DataFrame:
    """Read only the needed columns with pyarrow's multi-threaded CSV reader, all as categories (numbers converted
    after), so that a national file of millions of rows and hundreds of columns loads in seconds and stays small."""
    first = handle.readline()
    try:
        text = first.decode("utf-8-sig")
        if any(ord(c) < 32 and c not in "\t\r\n" for c in text):
            raise ValueError("control characters")
        header = next(csv.reader([text]))
    except (ValueError, StopIteration, csv.Error):  # UnicodeDecodeError is a ValueError
        raise PumsError(f"{name}: not a CSV file (no readable header line)") from None
    columns = required_columns(record)
    missing = [c for c in columns if c not in header]
    if missing:
        raise PumsError(f"{name}: missing required PUMS {record} columns {missing}")
    coded = {c for c in columns if dictionary[c].kind == "C"} - {KEY, ADJUSTMENT}
    types = {c: pa.dictionary(pa.int32(), pa.string()) for c in columns} | {KEY: pa.string()}
    tail, rows = _Tail(handle), _RowCheck()
    try:
        table = pa_csv.read_csv(
            io.BufferedReader(tail, 1 << 20),
            read_options=pa_csv.ReadOptions(column_names=header, block_size=1 << 24),
            parse_options=pa_csv.ParseOptions(invalid_row_handler=rows),
            convert_options=pa_csv.ConvertOptions(
                include_columns=columns, column_types=types, strings_can_be_null=True
            ),
        ).to_pandas()
    except (pa.ArrowException, UnicodeDecodeError) as exc:
        raise PumsError(f"{name}: cannot read as a PUMS {record} file ({exc})") from None
    rows.check(name, len(table), tail.last_line)
    for column in set(columns) - coded - {KEY}:
        table[column] = _numbers(name, table[column])
    return table


def _numbers(name: str, column: pd.Series) -> np.ndarray:
    """A numeric column read as categories, as floats, naming the line of the first value that is not a number."""
    categories = column.cat.categories
    numbers = pd.to_numeric(pd.Series(categories), errors="coerce").to_numpy(dtype=float)
    if np.isnan(numbers).any():
        raw = categories[int(np.argmax(np.isnan(numbers)))]
        row = int(np.argmax((column == raw).to_numpy())) + 2
        raise PumsError(f"{name}: line {row}: column {column.name} value {raw!r} is not a number")
    return np.append(numbers, np.nan)[column.cat.codes.to_numpy()]  # code -1 (blank) picks the NaN at the end


def _decode_labels(name: str, column: pd.Series, variable: Variable, rule: str) -> pd.Categorical:
    """Map codes to labels once per distinct code, then rebuild the column from the category codes."""
    categories = list(column.cat.categories)
    labels: list[str | None] = []
    for raw in categories:
        code = variable.normalise(str(raw))
        if code not in variable.labels:
            row = int(np.argmax((column == raw).to_numpy())) + 2
            raise PumsError(f"{name}: line {row}: {variable.name} code '{raw}' is not in the PUMS data dictionary")
        labels.append(_label(variable, code, rule))
    if column.isna().any():
        if variable.blank() not in variable.labels:
            row = int(np.argmax(column.isna().to_numpy())) + 2
            raise PumsError(f"{name}: line {row}: {variable.name} is blank, which the data dictionary does not allow")
        blank_label = _label(variable, variable.blank(), rule)
    else:
        blank_label = None
    values = sorted({label for label in [*labels, blank_label] if label is not None})
    index = {label: i for i, label in enumerate(values)}
    lookup = np.array([index.get(label, -1) if label is not None else -1 for label in [*labels, blank_label]])
    codes = column.cat.codes.to_numpy()
    return pd.Categorical.from_codes(lookup[np.where(codes < 0, len(labels), codes)], categories=values)


def _label(variable: Variable, code: str, rule: str) -> str | None:
    label = variable.labels[code]
    if label.startswith("N/A"):
        return None
    if rule == "category":
        match = _GROUP_PREFIX.match(label)
        if match:
            return GROUPS[variable.name].get(match.group(1), label)
    return label


def _check_numeric(name: str, values: pd.Series, variable: Variable) -> None:
    """Every value must be one the dictionary allows (a listed code or inside a listed range), or blank."""
    numbers = values.to_numpy(dtype=float)
    ok = np.isnan(numbers) if variable.blank() in variable.labels else np.zeros(len(numbers), bool)
    for code in variable.labels:
        if code.lstrip("-").isdigit():
            ok |= numbers == int(code)
    for low, high, _ in variable.ranges:
        ok |= (numbers >= low) & (numbers <= high) & (numbers == np.floor(numbers))
    if not ok.all():
        row = int(np.argmin(ok))
        if np.isnan(numbers[row]):
            raise PumsError(
                f"{name}: line {row + 2}: {variable.name} is blank, which the data dictionary does not allow"
            )
        raise PumsError(
            f"{name}: line {row + 2}: {variable.name} value {numbers[row]:g} is outside the data dictionary's range"
        )


def _decode_table(name: str, table: pd.DataFrame, record: str, dictionary: dict[str, Variable]) -> pd.DataFrame:
    decoded = pd.DataFrame({KEY: table[KEY].to_numpy()})
    for field in (f for f in PUMS_FIELDS if f.record == record):
        variable = dictionary[field.variable]
        column = table[field.variable]
        if field.rule in ("label", "category"):
            decoded[field.attribute] = _decode_labels(name, column, variable, field.rule)
        elif field.rule == "age":
            _check_numeric(name, column, variable)
            decoded[field.attribute] = column.to_numpy(dtype=float)
        elif field.rule == "income":
            _check_numeric(name, column, variable)
            adjustment = table[ADJUSTMENT].to_numpy(dtype=float) / 1e6
            if np.isnan(adjustment[column.notna().to_numpy()]).any():
                raise PumsError(f"{name}: {ADJUSTMENT} is blank on a row with income, so it cannot be adjusted")
            decoded[field.attribute] = np.round(column.to_numpy(dtype=float) * adjustment)
    if record == "person":
        weights = table[WEIGHT].to_numpy(dtype=float)
        bad = np.isnan(weights) | (weights < 0)
        if bad.any():
            row = int(np.argmax(bad)) + 2
            raise PumsError(f"{name}: line {row}: {WEIGHT} must be a non-negative number on every row")
        decoded[WEIGHT] = weights
    return decoded


def _read_decoded(paths: list[Path], record: str, dictionary: dict[str, Variable]) -> pd.DataFrame:
    frames = []
    for path in paths:
        for name, handle in _members(Path(path), record):
            frames.append(_decode_table(name, _read_table(name, handle, record, dictionary), record, dictionary))
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    for column in frame.columns:
        if isinstance(frames[0][column].dtype, pd.CategoricalDtype) and len(frames) > 1:
            frame[column] = frame[column].astype("category")
    return frame


def read_pums(person: list[Path], housing: list[Path] | None = None, dictionary: Path | None = None) -> CensusSample:
    """Decode PUMS person files (joined to housing files on SERIALNO) into a weighted census sample.

    Without housing files the household attributes are not census-backed and stay null.

    Example:
        >>> sample = read_pums(*resolve_source(Path("downloads/")))  # doctest: +SKIP
    """
    variables = load_dictionary(dictionary)
    people = _read_decoded(person, "person", variables)
    backed = [f.attribute for f in PUMS_FIELDS if f.record == "person"]
    if housing:
        homes = _read_decoded(housing, "housing", variables)
        duplicated = homes[KEY].duplicated()
        if duplicated.any():
            raise PumsError(f"{', '.join(map(str, housing))}: SERIALNO {homes[KEY][duplicated].iloc[0]} appears twice")
        people = people.merge(homes, on=KEY, how="left", validate="m:1")
        backed += [f.attribute for f in PUMS_FIELDS if f.record == "housing"]
    order = tuple(f.attribute for f in PUMS_FIELDS if f.attribute in backed)
    label = ", ".join(str(p) for p in person)
    return CensusSample(f"pums:{label}", people[list(order)], people[WEIGHT].to_numpy(dtype=float), order)
