"""Intersections: bench accuracy on slices of the population picked out by attribute predicates.

The predicate language is a small, safe subset of Python expressions, parsed with ``ast`` and never evaluated:

- attribute names as bare words, spaces written as underscores (``marital_status``) or the name in backticks
  (```marital status```);
- string and number literals, and lists of them: ``"Female"``, ``34``, ``["Catholic", "Protestant"]``;
- comparisons ``==  !=  <  <=  >  >=`` (chains too: ``18 <= age <= 34``), ``in`` / ``not in`` a list;
- ``and``, ``or``, ``not`` and parentheses.

Comparing with a number reads the attribute as a number; a missing or non-numeric value makes that comparison
false, so ``age < 30`` never silently includes a persona without an age.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from persona.errors import InputError
from persona.metrics.accuracy import pass_rate

_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


MAX_LENGTH = 2000  # characters of predicate text
MAX_DEPTH = 50  # nested 'and' / 'or' / 'not'


class PredicateError(InputError):
    """A slice predicate outside the documented syntax, or naming an unknown attribute."""


Attributes = Mapping[str, str | None]


class Predicate:
    """A parsed slice predicate; call it on a persona's attributes to test membership.

    Args:
        text: the predicate, e.g. ``sex == "Female" and 18 <= age <= 34``.
        names: the attribute names it may use (default: any).

    Example:
        >>> Predicate('sex == "Female" and 18 <= age <= 34')({"sex": "Female", "age": "29"})
        True
    """

    def __init__(self, text: str, names: tuple[str, ...] | None = None) -> None:
        self.text = text.strip()
        if len(self.text) > MAX_LENGTH:
            raise PredicateError(
                f"slice {self.text[:40]!r}...: {len(self.text)} characters, over the limit of {MAX_LENGTH}"
            )
        self._names = {name.replace(" ", "_"): name for name in names} if names is not None else None
        source = re.sub(r"`([^`]+)`", lambda m: m.group(1).replace(" ", "_"), self.text)
        try:
            self._test = self._compile(ast.parse(source, mode="eval").body, 1)
        except SyntaxError as exc:
            raise PredicateError(f"slice {self.text!r}: not a predicate ({exc.msg})") from None
        except (RecursionError, MemoryError):  # Python's own parser gives up on very deep nesting
            raise PredicateError(f"slice {self.text!r}: nested too deeply (the limit is {MAX_DEPTH} levels)") from None

    def __call__(self, attributes: Attributes) -> bool:
        return bool(self._test(attributes))

    def __repr__(self) -> str:
        return f"Predicate({self.text!r})"

    def _fail(self, node: ast.AST, why: str) -> PredicateError:
        return PredicateError(f"slice {self.text!r}: {why} at column {getattr(node, 'col_offset', 0) + 1}")

    def _compile(self, node: ast.AST, depth: int) -> Callable[[Attributes], Any]:
        if depth > MAX_DEPTH:
            raise self._fail(node, f"nested deeper than the limit of {MAX_DEPTH} levels of 'and', 'or' and 'not'")
        if isinstance(node, ast.BoolOp):
            parts = [self._compile(value, depth + 1) for value in node.values]
            if isinstance(node.op, ast.And):
                return lambda row: all(part(row) for part in parts)
            return lambda row: any(part(row) for part in parts)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner = self._compile(node.operand, depth + 1)
            return lambda row: not inner(row)
        if isinstance(node, ast.Compare):
            return self._compare(node)
        raise self._fail(node, "expected a comparison, 'and', 'or' or 'not'")

    def _compare(self, node: ast.Compare) -> Callable[[Attributes], bool]:
        operands = [self._operand(part) for part in (node.left, *node.comparators)]
        tests = []
        for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
            if isinstance(op, ast.In | ast.NotIn):
                if not isinstance(right, list):
                    raise self._fail(node, "'in' needs a list of values on its right")
                tests.append(self._membership(left, right, negate=isinstance(op, ast.NotIn)))
            elif type(op) in _COMPARE:
                tests.append(self._order(_COMPARE[type(op)], left, right))
            else:
                raise self._fail(node, f"unsupported comparison {type(op).__name__}")
        return lambda row: all(test(row) for test in tests)

    def _operand(self, node: ast.AST) -> Any:
        """An attribute name (as a ``_Name``), a literal, or a list of literals."""
        if isinstance(node, ast.Name):
            if self._names is not None and node.id not in self._names:
                raise self._fail(node, f"unknown attribute {node.id!r}")
            return _Name(self._names[node.id] if self._names is not None else node.id.replace("_", " "))
        if (
            isinstance(node, ast.UnaryOp)
            and isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.Constant)
            and isinstance(node.operand.value, int | float)
        ):
            node = ast.Constant(-node.operand.value)
        if isinstance(node, ast.Constant) and isinstance(node.value, str | int | float) and node.value is not True:
            return node.value
        if isinstance(node, ast.List | ast.Tuple):
            values = [self._operand(element) for element in node.elts]
            if any(isinstance(value, _Name | list) for value in values):
                raise self._fail(node, "a list may hold only literal values")
            return values
        raise self._fail(node, "expected an attribute name, a string, a number or a list")

    @staticmethod
    def _value(operand: Any, row: Attributes, numeric: bool) -> Any:
        if not isinstance(operand, _Name):
            return operand
        value = row.get(operand.name)
        if value is None or not numeric:
            return value
        try:
            return float(str(value).replace(",", "").lstrip("$"))
        except ValueError:
            return None

    def _order(self, compare: Callable[[Any, Any], bool], left: Any, right: Any) -> Callable[[Attributes], bool]:
        numeric = any(isinstance(side, int | float) for side in (left, right))

        def test(row: Attributes) -> bool:
            a, b = self._value(left, row, numeric), self._value(right, row, numeric)
            if a is None or b is None:
                return compare is operator.ne and (a is None) != (b is None)
            try:
                return bool(compare(a, b))
            except TypeError:
                return False

        return test

    def _membership(self, left: Any, values: list[Any], negate: bool) -> Callable[[Attributes], bool]:
        numeric = any(isinstance(value, int | float) for value in values)

        def test(row: Attributes) -> bool:
            value = self._value(left, row, numeric)
            if value is None:
                return negate
            return (value in values) != negate

        return test


class _Name:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


def slice_accuracy(
    records: pd.DataFrame,
    personas: Mapping[str, Attributes],
    predicates: list[Predicate],
    by: str = "mode",
    confidence: float = 0.95,
    resamples: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Pass rate with a bootstrap CI per slice (and per ``by`` group), with each slice's persona and item counts.

    ``records`` has ``persona_id``, ``passed`` (None for an unjudged answer, which is left out) and ``by``;
    ``personas`` maps persona id to attributes. A record whose persona is unknown is an error, not a silent drop.
    A slice without judged answers gets a row per ``by`` group of the judged records, with no answers and no rate.
    """
    missing = {"persona_id", "passed", by} - set(records.columns)
    if missing:
        raise ValueError(f"bench records need persona_id, passed, {by}; missing {sorted(missing)}")
    unknown = sorted(set(records["persona_id"]) - set(personas))
    if unknown:
        raise InputError(f"bench records name personas not in the persona file, e.g. {unknown[0]}")
    judged = records[records["passed"].notna()]
    groups = sorted(judged[by].unique(), key=str)
    rows = []
    for predicate in predicates:
        members = {pid for pid, attributes in personas.items() if predicate(attributes)}
        inside = judged[judged["persona_id"].isin(members)]
        for group, part in sorted(inside.groupby(by), key=lambda kv: str(kv[0])) or [(g, inside) for g in groups]:
            estimate = pass_rate(part["passed"].astype(bool).tolist(), confidence, resamples, seed)
            rows.append(
                {
                    "slice": predicate.text,
                    by: group,
                    "personas": int(part["persona_id"].nunique()),
                    "answers": estimate.n,
                    "pass_rate": None if math.isnan(estimate.value) else estimate.value,
                    "low": None if math.isnan(estimate.low) else estimate.low,
                    "high": None if math.isnan(estimate.high) else estimate.high,
                }
            )
    return pd.DataFrame(rows, columns=["slice", by, "personas", "answers", "pass_rate", "low", "high"])
