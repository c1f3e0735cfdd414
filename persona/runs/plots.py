"""Report plots, drawn on bare matplotlib Figures (no pyplot state, safe in threads and without a display)."""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from persona.metrics.fidelity import BANDS, MISSING, Fidelity

TOP = 12  # attributes with many values (birthplace, ancestry) show their most common ones


def _shown(result: Fidelity, top: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    table = result.table
    if result.attribute in ("age", "income"):
        table = table.sort_index(key=lambda index: index.map(_band_order(result)))
    head = table.head(top)
    labels = [label if len(label) <= 38 else label[:36] + "…" for label in head.index]
    if len(table) > top:
        labels.append(f"{len(table) - top} others")
        rest = table.iloc[top:]
        return (
            labels,
            np.append(head["source"], rest["source"].sum()),
            np.append(head["personas"], rest["personas"].sum()),
        )
    return labels, head["source"].to_numpy(), head["personas"].to_numpy()


def _band_order(result: Fidelity) -> dict[str, int]:
    return {label: i for i, (_, label) in enumerate(BANDS[result.attribute])} | {MISSING: len(BANDS[result.attribute])}


def _bars(axes, result: Fidelity, source_label: str, top: int) -> None:
    labels, source, personas = _shown(result, top)
    y = np.arange(len(labels))
    axes.barh(y - 0.2, source, height=0.4, label=source_label, color="#7a8fa6")
    axes.barh(y + 0.2, personas, height=0.4, label=f"personas (n={result.personas})", color="#d1813b")
    axes.set_yticks(y, labels, fontsize=7)
    axes.invert_yaxis()
    axes.set_xlabel("share")
    axes.set_title(f"{result.attribute}  (TVD {result.tvd:.3f})", fontsize=9)


def save_figure(figure: Figure, path: Path) -> None:
    """Write a PNG atomically, like every other result file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".png")
    os.close(fd)
    try:
        figure.savefig(tmp, dpi=110, bbox_inches="tight")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fidelity_plot(result: Fidelity, path: Path, source_label: str = "census (weighted)", top: int = TOP) -> None:
    """Side-by-side bars of one attribute: the source's weighted shares next to the personas' shares."""
    figure = Figure(figsize=(7, 0.35 * min(len(result.table), top + 1) + 1.5))
    axes = figure.add_subplot()
    _bars(axes, result, source_label, top)
    axes.legend(fontsize=7)
    save_figure(figure, path)


def fidelity_overview(results: list[Fidelity], path: Path, source_label: str = "census (weighted)") -> None:
    """A grid of the attributes' bars, like the paper's census comparison figures."""
    columns = 3
    rows = -(-len(results) // columns)
    figure = Figure(figsize=(6 * columns, 3.6 * rows))
    for i, result in enumerate(results):
        axes = figure.add_subplot(rows, columns, i + 1)
        _bars(axes, result, source_label, top=8)
        if i == 0:
            axes.legend(fontsize=7)
    figure.tight_layout()
    save_figure(figure, path)


def topic_plot(counts: Counter, path: Path) -> None:
    """Prompts per topic, train and held-out stacked (the paper's Figure 3)."""
    topics = sorted({topic for topic, _ in counts}, key=lambda t: -(counts[(t, "train")] + counts[(t, "heldout")]))
    train = np.array([counts[(t, "train")] for t in topics])
    heldout = np.array([counts[(t, "heldout")] for t in topics])
    figure = Figure(figsize=(7, 0.3 * len(topics) + 1.5))
    axes = figure.add_subplot()
    y = np.arange(len(topics))
    axes.barh(y, train, color="#7a8fa6", label="train")
    axes.barh(y, heldout, left=train, color="#d1813b", label="held out")
    axes.set_yticks(y, topics, fontsize=7)
    axes.invert_yaxis()
    axes.set_xlabel("prompts")
    axes.legend(fontsize=7)
    save_figure(figure, path)
