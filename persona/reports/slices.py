"""The intersections table: accuracy per slice and mode, as the bench report and `persona bench slices` show it."""

from __future__ import annotations

from typing import Any

from persona.metrics import EstimateRecord
from persona.reports.estimates import format_estimate, small_sample_note


def slices_table(rows: list[dict[str, Any]], level: int = 95) -> list[str]:
    """Markdown lines: one row per slice and mode, with persona and answer counts, and the small-sample note."""
    estimates = [EstimateRecord(value=r["pass_rate"], low=r["low"], high=r["high"], n=r["answers"]) for r in rows]
    lines = [
        f"| slice | mode | personas | answers | accuracy, {level}% CI |",
        "|---|---|---|---|---|",
    ]
    for row, estimate in zip(rows, estimates, strict=True):
        lines.append(
            f"| `{row['slice']}` | {row['mode']} | {row['personas']} | {row['answers']} | {format_estimate(estimate)} |"
        )
    return [*lines, "", *small_sample_note(estimates)]
