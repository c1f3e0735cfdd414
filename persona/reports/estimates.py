"""Rates with confidence intervals as report text, flagged when the sample is too small for the interval to mean much.

A percentile bootstrap over two answers that agree gives [0, 0]: a true statement about the resamples and a
misleading one about the model. Such rows carry a dagger and the report a note saying why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rich.table import Table

from persona.metrics import EstimateRecord

SMALL_SAMPLE = 30  # below this many observations, a bootstrap interval is read as a description, not an inference
SMALL_SAMPLE_NOTE = (
    f"† fewer than {SMALL_SAMPLE} observations: the bootstrap interval is unreliable (all-agreeing answers give a "
    "zero-width interval); read the value as descriptive only."
)


def format_estimate(estimate: EstimateRecord, with_n: bool = False) -> str:
    """``0.250 [0.100, 0.400]``, with ``(n=8)`` on request and a dagger when n is small; ``n/a`` without data."""
    if estimate.value is None:
        return "n/a"
    text = f"{estimate.value:.3f} [{estimate.low:.3f}, {estimate.high:.3f}]"
    if with_n:
        text += f" (n={estimate.n})"
    return text + ("†" if estimate.n < SMALL_SAMPLE else "")


def format_number(value: float | None, digits: int = 3) -> str:
    """A report cell for a measure that may be missing: ``n/a`` rather than a made-up 0."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def small_sample_note(estimates: Iterable[EstimateRecord]) -> list[str]:
    """The report lines explaining the dagger, when any of ``estimates`` carries one."""
    flagged = any(e.value is not None and e.n < SMALL_SAMPLE for e in estimates)
    return [SMALL_SAMPLE_NOTE, ""] if flagged else []


def estimates_table(title: str, rows: Mapping[str, EstimateRecord]) -> Table:
    """A terminal table of estimates: value, interval, n."""
    table = Table(title=title)
    for column in ("", "value", "95% CI", "n"):
        table.add_column(column)
    for name, e in rows.items():
        shown = "n/a" if e.value is None else f"{e.value:.3f}"
        ci = "" if e.low is None else f"[{e.low:.3f}, {e.high:.3f}]"
        table.add_row(name, shown, ci, str(e.n))
    return table


GroupCell = tuple[str, str, int, bool, str, str]  # attribute, group, size, ranked, column, text


def group_lines(heading: str, unit: str, min_size: int, columns: list[str], cells: Iterable[GroupCell]) -> list[str]:
    """A per-group section: one row per (attribute, group) with its size, one column per budget, predictor, ...
    (a missing cell shows "-"); groups too small to rank are marked, so nobody reads a handful of people as a
    finding. Nothing when there are no cells."""
    rows: dict[tuple[str, str], tuple[int, bool, dict[str, str]]] = {}
    for attribute, group, size, ranked, column, text in cells:
        rows.setdefault((attribute, group), (size, ranked, {}))[2][column] = text
    if not rows:
        return []
    lines = [
        f"## {heading}",
        "",
        f"Groups of fewer than {min_size} {unit} are marked (small) and are descriptive only.",
        "",
        f"| attribute | group | {unit} | " + " | ".join(columns) + " |",
        "|---|---|---|" + "---|" * len(columns),
    ]
    for (attribute, group), (size, ranked, texts) in rows.items():
        small = "" if ranked else " (small)"
        row = [texts.get(column, "-") for column in columns]
        lines.append(f"| {attribute} | {group}{small} | {size} | " + " | ".join(row) + " |")
    return [*lines, ""]


def aborted_note(aborted: bool) -> list[str]:
    """The report's warning, when the run stopped starting items at its failure limit."""
    return (
        ["**The run stopped early at its failure limit; unstarted items are recorded as NotRun.**", ""]
        if aborted
        else []
    )


def markdown(lines: list[str], cost: str) -> str:
    """A report's lines ending with its cost line (``Manifest.cost_line`` or ``calls_line``), as Markdown text."""
    return "\n".join([*lines, cost, ""])
