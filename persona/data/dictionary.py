"""The Census Bureau's PUMS data dictionary: every variable's type, width and code labels."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from persona.errors import InputError

# The rows of the official 2023 dictionary for the variables we read (see reference/SOURCES.md).
EMBEDDED_DICTIONARY = "pums_dictionary_2023.csv"


@dataclass
class Variable:
    """One dictionary variable: ``C`` (coded) variables map codes to labels, ``N`` ones carry numeric ranges."""

    name: str
    kind: str
    width: int
    description: str
    labels: dict[str, str] = field(default_factory=dict)
    ranges: list[tuple[int, int, str]] = field(default_factory=list)

    def blank(self) -> str:
        """The dictionary's spelling of an empty field: one ``b`` per character."""
        return "b" * self.width

    def normalise(self, raw: str) -> str:
        """A code as the dictionary spells it: blanks as ``b``s, digits zero-padded to the variable's width."""
        code = raw.strip()
        if not code:
            return self.blank()
        if code.isdigit() and len(code) < self.width:
            return code.zfill(self.width)
        return code


def parse_dictionary(text: str, source: str = "PUMS dictionary") -> dict[str, Variable]:
    """Parse the dictionary's CSV layout (``NAME,var,type,len,desc`` and ``VAL,var,type,len,from,to,label`` rows)."""
    variables: dict[str, Variable] = {}
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row:
            continue
        kind = row[0].lstrip("\ufeff")
        if kind == "NAME" and len(row) >= 5:
            variables.setdefault(row[1], Variable(row[1], row[2], int(row[3]), row[4]))
        elif kind == "VAL" and len(row) >= 7:
            variable = variables.get(row[1])
            if variable is None:
                raise InputError(f"{source}:{number}: VAL row for {row[1]} before its NAME row")
            low, high, label = row[4], row[5], row[6]
            if variable.kind == "N" and low != high and _is_int(low) and _is_int(high):
                variable.ranges.append((int(low), int(high), label))
            elif low == high:
                variable.labels[low] = label
            # Ranged codes of C variables (serial numbers) carry no labels we decode.
        else:
            raise InputError(f"{source}:{number}: not a PUMS dictionary row: {row[:3]}")
    return variables


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()


def load_dictionary(path: Path | None = None) -> dict[str, Variable]:
    """The dictionary at ``path``, or the embedded 2023 subset when none is given."""
    if path is None:
        text = files("persona.data.reference").joinpath(EMBEDDED_DICTIONARY).read_text(encoding="utf-8")
        return parse_dictionary(text, EMBEDDED_DICTIONARY)
    return parse_dictionary(Path(path).read_text(encoding="utf-8-sig"), str(path))
