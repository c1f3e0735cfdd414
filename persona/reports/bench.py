"""The main evaluation's figures (Figures 10 and 11), from its typed metrics alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from persona.reports.figures import accuracy_plot, dropped_plot, save_figure


def bench_plots(metrics: Any, label: str, out: Path) -> list[str]:
    """Figure 10 (accuracy per mode) and, with summary analysis, Figure 11 (dropped attributes); names written."""
    save_figure(accuracy_plot({label: accuracy_by_mode(metrics)}, metrics.confidence), out / "accuracy.png")
    if not metrics.dropped:
        return ["accuracy.png"]
    save_figure(dropped_plot([row.model_dump() for row in metrics.dropped]), out / "dropped.png")
    return ["accuracy.png", "dropped.png"]


def accuracy_by_mode(metrics: Any) -> dict[str, dict]:
    """Each mode's accuracy estimate, as ``accuracy_plot`` takes one model's bars."""
    return {mode: {"accuracy": row.accuracy.model_dump()} for mode, row in metrics.modes.items()}
