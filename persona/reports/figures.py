"""Report plots, drawn on bare matplotlib Figures (no pyplot state, safe in threads and without a display).

matplotlib loads with the first figure drawn, not with this module: a kind's spec and its ``--help`` import the
module that reports it, and should not pay for plotting they never do.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from persona.data.io import make_folder, temp_sibling
from persona.metrics.fidelity import BANDS, MISSING, Fidelity
from persona.metrics.joint import JointFidelity

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

TOP = 12  # attributes with many values (birthplace, ancestry) show their most common ones


def _figure(**options: Any) -> Figure:
    from matplotlib.figure import Figure

    return Figure(**options)


def _integer_ticks(**options: Any) -> Any:
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True, **options)


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
    make_folder(path.parent)
    tmp = temp_sibling(path)
    try:
        figure.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def fidelity_plot(result: Fidelity, path: Path, source_label: str = "census (weighted)", top: int = TOP) -> None:
    """Side-by-side bars of one attribute: the source's weighted shares next to the personas' shares."""
    figure = _figure(figsize=(7, 0.35 * min(len(result.table), top + 1) + 1.5))
    axes = figure.add_subplot()
    _bars(axes, result, source_label, top)
    axes.legend(fontsize=7)
    save_figure(figure, path)


def fidelity_overview(results: list[Fidelity], path: Path, source_label: str = "census (weighted)") -> None:
    """A grid of the attributes' bars, like the paper's census comparison figures."""
    columns = 3
    rows = -(-len(results) // columns)
    figure = _figure(figsize=(6 * columns, 3.6 * rows))
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
    figure = _figure(figsize=(7, 0.3 * len(topics) + 1.5))
    axes = figure.add_subplot()
    y = np.arange(len(topics))
    axes.barh(y, train, color="#7a8fa6", label="train")
    axes.barh(y, heldout, left=train, color="#d1813b", label="held out")
    axes.set_yticks(y, topics, fontsize=7)
    axes.invert_yaxis()
    axes.xaxis.set_major_locator(_integer_ticks())
    axes.set_xlabel("prompts")
    axes.set_ylabel("topic")
    axes.legend(fontsize=7)
    save_figure(figure, path)


PALETTE = ("#7a8fa6", "#d1813b", "#5b9a68", "#b05a7a", "#8c7ab8", "#c9b037")
INK = "#333333"


def _column(records: list[dict], key: str) -> np.ndarray:
    """Missing or undefined fields become NaN so numpy can carry them through the arithmetic."""
    return np.array([np.nan if r.get(key) is None else r[key] for r in records], dtype=float)


def _label_bars(axes: Axes, xs: np.ndarray, ys: np.ndarray, values: np.ndarray, vertical: bool) -> None:
    """Write each value (or n/a) just past its bar's end, so a zero-height bar still reads as 0.00, not as nothing."""
    for x, y, value in zip(xs, np.nan_to_num(ys), values, strict=True):
        axes.annotate(
            "n/a" if np.isnan(value) else f"{value:.2f}",
            (x, y) if vertical else (y, x),
            xytext=(0, 2) if vertical else (3, 0),
            textcoords="offset points",
            ha="center" if vertical else "left",
            va="bottom" if vertical else "center",
            fontsize=7,
            color=INK,
        )


def accuracy_plot(models: dict[str, dict[str, dict]], confidence: float) -> Figure:
    """Accuracy per mode with CI whiskers, one bar group per mode and one bar per model (the paper's Figure 10).

    ``models`` maps a model name to its per-mode metrics (each with an ``accuracy`` estimate record).
    """
    modes = list(dict.fromkeys(mode for per_mode in models.values() for mode in per_mode))
    width = 0.8 / max(len(models), 1)
    # Wider groups for more models keep every bar wide enough for its value label.
    figure = _figure(figsize=(max(1.6, 0.4 * len(models)) * len(modes) + 2.5, 3.6))
    axes = figure.add_subplot()
    x = np.arange(len(modes))
    for i, (model, per_mode) in enumerate(models.items()):
        estimates = [per_mode.get(mode, {}).get("accuracy") or {} for mode in modes]
        values, low, high = (_column(estimates, key) for key in ("value", "low", "high"))
        errors = np.nan_to_num(np.vstack([values - low, high - values]))
        positions = x + (i - (len(models) - 1) / 2) * width
        color = PALETTE[i % len(PALETTE)]
        axes.bar(positions, np.nan_to_num(values), width, label=model, color=color)
        axes.errorbar(
            positions,
            values,
            yerr=errors,
            fmt="o",
            markersize=4,
            markerfacecolor=color,
            color=INK,
            capsize=3,
            zorder=3,
            clip_on=False,
        )
        _label_bars(axes, positions, np.fmax(high, values), values, vertical=True)
    axes.set_xticks(x, modes)
    axes.set_ylim(0, 1.12)
    axes.set_yticks(np.linspace(0, 1, 6))
    axes.set_ylabel(f"accuracy ({round(confidence * 100)}% CI)")
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1, 1))
    return figure


def dropped_plot(rows: list[dict]) -> Figure:
    """Share of summaries that dropped each attribute, by the LLM judge and by exact/synonym match (Figure 11)."""
    rows = sorted(rows, key=lambda r: -(r["dropped_match_share"] or 0))
    figure = _figure(figsize=(7, 0.3 * len(rows) + 1.5))
    axes = figure.add_subplot()
    y = np.arange(len(rows))
    for offset, key, label, color in (
        (-0.2, "dropped_llm_share", "LLM judge", PALETTE[0]),
        (0.2, "dropped_match_share", "exact/synonym match", PALETTE[1]),
    ):
        shares = _column(rows, key)
        axes.barh(y + offset, np.nan_to_num(shares), height=0.4, label=label, color=color)
        _label_bars(axes, y + offset, shares, shares, vertical=False)
    axes.set_yticks(y, [r["attribute"] for r in rows], fontsize=7)
    axes.invert_yaxis()
    axes.set_xlim(0, 1.1)
    axes.set_xticks(np.linspace(0, 1, 6))
    axes.set_xlabel("share of summaries that dropped the attribute")
    axes.set_ylabel("attribute")
    axes.legend(fontsize=7, loc="lower left", bbox_to_anchor=(0, 1), ncols=2, frameon=False)
    return figure


def dropped_comparison_plot(shares: dict[str, dict[str, float | None]]) -> Figure:
    """Share of summaries that dropped each attribute, one bar per model (Figure 11 across models).

    ``shares`` maps a model label to its share per attribute; attributes are ordered by their mean share.
    """
    attributes = sorted(
        {a for per_model in shares.values() for a in per_model},
        key=lambda a: -np.nanmean([np.nan if m.get(a) is None else m[a] for m in shares.values()] or [0]),
    )
    height = 0.8 / max(len(shares), 1)
    figure = _figure(figsize=(7, 0.25 * len(attributes) * max(len(shares), 2) + 1.5))
    axes = figure.add_subplot()
    y = np.arange(len(attributes))
    for i, (label, per_model) in enumerate(shares.items()):
        values = np.array([np.nan if per_model.get(a) is None else per_model[a] for a in attributes], dtype=float)
        positions = y + (i - (len(shares) - 1) / 2) * height
        axes.barh(positions, np.nan_to_num(values), height=height, label=label, color=PALETTE[i % len(PALETTE)])
        _label_bars(axes, positions, values, values, vertical=False)
    axes.set_yticks(y, attributes, fontsize=7)
    axes.invert_yaxis()
    axes.set_xlim(0, 1.1)
    axes.set_xticks(np.linspace(0, 1, 6))
    axes.set_xlabel("share of summaries that dropped the attribute (exact/synonym match)")
    axes.legend(fontsize=7, loc="lower left", bbox_to_anchor=(0, 1), ncols=2, frameon=False)
    return figure


def passk_plot(curves: Mapping[str, Mapping[int, float | None]]) -> Figure:
    """pass@k against k, one line per model or mode (the paper's Figure 12)."""
    figure = _figure(figsize=(5.5, 3.6))
    axes = figure.add_subplot()
    for i, (label, curve) in enumerate(curves.items()):
        ks = sorted(curve)
        color = PALETTE[i % len(PALETTE)]
        # Unclipped and above the spines, so a curve at 0 or 1 keeps its whole markers.
        values = [np.nan if (v := curve[k]) is None else v for k in ks]  # no estimate: a gap in the line
        axes.plot(ks, values, marker="o", label=label, color=color, zorder=3, clip_on=False)
    axes.xaxis.set_major_locator(_integer_ticks(min_n_ticks=1))  # one k alone still ticks at k
    axes.set_xlabel("k")
    axes.set_ylabel("pass@k")
    axes.set_ylim(0, 1.05)
    axes.legend(fontsize=7)
    return figure


def loo_plot(kappas: dict[str, list[float]]) -> Figure:
    """Box plot of per-pair kappa for each left-out attribute (the paper's Figure 5).

    Attributes and their scores travel together in one mapping, so a label can never sit over another
    attribute's box; attributes whose kappas are all undefined are listed with n=0 and no box.
    """
    names = sorted(kappas, key=lambda a: (np.nanmedian(kappas[a]) if any(np.isfinite(kappas[a])) else 9, a))
    figure = _figure(figsize=(7, 0.35 * len(names) + 1.5))
    axes = figure.add_subplot()
    data = [[v for v in kappas[name] if np.isfinite(v)] for name in names]
    axes.boxplot(
        data, orientation="horizontal", tick_labels=[f"{n} (n={len(d)})" for n, d in zip(names, data, strict=True)]
    )
    for row, values in enumerate(data, start=1):
        if not values:
            axes.text(0, row, "no defined kappa", ha="center", va="center", fontsize=7, color=INK)
    axes.invert_yaxis()
    axes.set_xlim(-1.05, 1.05)
    axes.set_xlabel("Cohen's kappa, without vs with the attribute (lower = more influence)")
    axes.set_ylabel("left-out attribute")
    return figure


def _ink_on(rgba: tuple[float, ...]) -> str:
    """White text on dark cells and black on light ones, by the cell colour's luma (ITU-R BT.601)."""
    red, green, blue = rgba[:3]
    return "white" if 0.299 * red + 0.587 * green + 0.114 * blue < 0.5 else "black"


def joint_gap_plot(results: list[JointFidelity], source_label: str = "census (weighted)") -> Figure:
    """For each pair, personas' share minus the source's share in every cell: where associations break."""
    figure = _figure(figsize=(5.2 * max(len(results), 1), 4.4))
    for i, result in enumerate(results):
        axes = figure.add_subplot(1, max(len(results), 1), i + 1)
        gap = (result.table["personas"] - result.table["source"]).unstack(fill_value=0.0)
        limit = max(float(np.abs(gap.to_numpy()).max()), 0.01)
        image = axes.imshow(gap.to_numpy(dtype=float), cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
        short = [str(c) if len(str(c)) <= 18 else str(c)[:17] + "…" for c in gap.columns]
        axes.set_xticks(range(len(gap.columns)), short, rotation=45, ha="right", fontsize=6)
        axes.set_yticks(range(len(gap.index)), [str(r)[:22] for r in gap.index], fontsize=6)
        axes.set_xlabel(result.second, fontsize=7)
        axes.set_ylabel(result.first, fontsize=7)
        flag = " (flagged)" if result.flagged else ""
        axes.set_title(f"TVD {result.tvd:.2f}, sampling {result.null_tvd:.2f}{flag}", fontsize=8)
        bar = figure.colorbar(image, ax=axes, shrink=0.8)
        bar.set_label(f"personas - {source_label}", fontsize=6)
        bar.ax.tick_params(labelsize=6)
    figure.tight_layout()
    return figure


def kappa_heatmap(matrix, title: str) -> Figure:
    """Annotator x annotator kappa, cells labelled; undefined cells left blank (Figures 6 and 8). Past 16 rows (a
    matrix of personas) the figure stops growing and the colour alone tells the value."""
    names = list(matrix.index)
    size = min(len(names), 12)
    figure = _figure(figsize=(1.1 * size + 2.5, 1.0 * size + 1.5))
    axes = figure.add_subplot()
    image = axes.imshow(matrix.to_numpy(dtype=float), vmin=-1, vmax=1, cmap="RdBu")
    axes.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=7)
    axes.set_yticks(range(len(names)), names, fontsize=7)
    for i in range(len(names)):
        for j in range(len(names)):
            value = matrix.iat[i, j]
            if np.isfinite(value) and len(names) <= 16:
                color = _ink_on(tuple(image.cmap(image.norm(value))))
                axes.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7, color=color)
    axes.set_title(title, fontsize=9)
    figure.colorbar(image, ax=axes, shrink=0.8).set_label("Cohen's kappa", fontsize=7)
    return figure


def kappa_histograms(distributions: dict[str, list[float]]) -> Figure:
    """Per-persona kappa histograms, one panel per annotator pair (Figures 7 and 9)."""
    names = list(distributions)
    columns = min(3, max(len(names), 1))
    rows = -(-max(len(names), 1) // columns)
    figure = _figure(figsize=(4 * columns, 2.8 * rows))
    for i, name in enumerate(names):
        axes = figure.add_subplot(rows, columns, i + 1)
        values = [v for v in distributions[name] if np.isfinite(v)]
        axes.hist(values, bins=list(np.linspace(-1, 1, 21)), color=PALETTE[i % len(PALETTE)])
        if not values:
            axes.set_ylim(0, 1)  # an empty histogram would otherwise span negative counts
            axes.text(0.5, 0.5, "no defined kappa", ha="center", va="center", fontsize=7, transform=axes.transAxes)
        axes.yaxis.set_major_locator(_integer_ticks())
        axes.set_title(f"{name} (n={len(values)})", fontsize=8)
        axes.set_xlabel("kappa per persona", fontsize=7)
        axes.set_ylabel("personas", fontsize=7)
    figure.tight_layout()
    return figure


def group_plot(groups: Any, baseline: str | None) -> Figure:
    """Accuracy per census group with persona-clustered 95% CIs, one panel per attribute, one marker per
    predictor; ``baseline`` (the blind predictor) is a grey tick on each group's row, a coin the dotted line at 0.5.
    Only ranked groups (big enough) are drawn; the report's table lists the rest. ``groups`` has attribute, group,
    predictor, accuracy, low, high, ranked."""
    shown = groups[groups["ranked"].astype(bool)]
    attributes = list(dict.fromkeys(shown["attribute"]))
    predictors = [p for p in dict.fromkeys(groups["predictor"]) if p != baseline]
    heights = [shown[shown["attribute"] == a]["group"].nunique() for a in attributes] or [1]
    figure = _figure(figsize=(6.5, 1.0 + 0.3 * sum(heights) + 0.45 * len(heights)), layout="constrained")
    grid = figure.add_gridspec(len(heights), 1, height_ratios=heights)
    for row, attribute in enumerate(attributes):
        axes = figure.add_subplot(grid[row])
        part = shown[shown["attribute"] == attribute]
        names = list(dict.fromkeys(part["group"]))
        if baseline is not None:
            base = part[part["predictor"] == baseline].set_index("group").reindex(names)["accuracy"]
            for y, value in enumerate(base):
                axes.plot([value, value], [y - 0.38, y + 0.38], color="0.45", linewidth=1.6, zorder=2)
        for i, predictor in enumerate(predictors):
            mine = part[part["predictor"] == predictor].set_index("group").reindex(names)
            ys = np.arange(len(names)) + (i - (len(predictors) - 1) / 2) * 0.2
            color = PALETTE[i % len(PALETTE)]
            errors = np.vstack([mine["accuracy"] - mine["low"], mine["high"] - mine["accuracy"]])
            axes.errorbar(mine["accuracy"], ys, xerr=errors, fmt="none", ecolor=color, elinewidth=1, zorder=3)
            label = predictor if row == 0 else None
            axes.scatter(mine["accuracy"], ys, color=color, s=16, zorder=4, label=label, clip_on=False)
        axes.axvline(0.5, color="0.6", linestyle=":", linewidth=1)
        axes.set_yticks(range(len(names)), names, fontsize=7)
        axes.set_xlim(0, 1)
        axes.invert_yaxis()
        axes.set_title(attribute, fontsize=8, loc="left")
        axes.tick_params(axis="x", labelsize=7)
    handles, labels = ([], []) if not figure.axes else figure.axes[0].get_legend_handles_labels()
    if baseline is not None:
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], color="0.45", linewidth=1.6))
        labels.append(f"{baseline} (baseline)")
    figure.legend(handles, labels, fontsize=7, loc="outside upper center", ncols=min(3, max(1, len(labels))))
    figure.supxlabel("accuracy per group, persona-clustered 95% CI", fontsize=7)
    return figure


def calibration_plot(bins: Mapping[str, Any]) -> Figure:
    """Reliability diagram: observed share against predicted P(A preferred), one line per predictor that gives
    probabilities, marker size by pairs in the bin; the diagonal is perfect calibration."""
    figure = _figure(figsize=(4.2, 4.0))
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], color="0.6", linestyle=":", linewidth=1)
    for i, (label, table) in enumerate(bins.items()):
        color = PALETTE[i % len(PALETTE)]
        sizes = 12 + 60 * table["n"] / max(1, table["n"].max())
        axes.plot(table["predicted"], table["observed"], color=color, label=label, zorder=2)
        axes.scatter(table["predicted"], table["observed"], s=sizes, color=color, zorder=3)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_xlabel("predicted P(A preferred)")
    axes.set_ylabel("observed share A preferred")
    axes.legend(fontsize=7)
    return figure


def elicit_plot(curves: Mapping[str, Mapping[int, Any]], ceiling: Any | None) -> Figure:
    """Accuracy against the number of questions an asker may ask, with 95% CIs, one line per asking policy; the
    blind baseline (budget 0) dotted and the full-profile ceiling dashed across the plot."""
    figure = _figure(figsize=(5.5, 3.6))
    axes = figure.add_subplot()
    for i, (label, curve) in enumerate(curves.items()):
        budgets = sorted(curve)
        values = np.array([curve[b].value for b in budgets], dtype=float)
        errors = np.vstack(
            [values - np.array([curve[b].low for b in budgets]), np.array([curve[b].high for b in budgets]) - values]
        )
        color = PALETTE[i % len(PALETTE)]
        axes.errorbar(budgets, values, yerr=errors, marker="o", color=color, label=label, capsize=3, zorder=3)
        if 0 in curve:
            axes.axhline(curve[0].value, color=color, linestyle=":", linewidth=1, label="blind (budget 0)")
    if ceiling is not None:
        axes.axhline(ceiling.value, color=INK, linestyle="--", linewidth=1, label="full profile (ceiling)")
    axes.xaxis.set_major_locator(_integer_ticks(min_n_ticks=1))
    axes.set_xlabel("clarifying questions allowed")
    axes.set_ylabel("accuracy (judge with the profile)")
    axes.set_ylim(0, 1.05)
    axes.legend(fontsize=7)
    return figure


def realism_plot(
    records: Any, groups: Any, options: Mapping[str, Mapping[str, str]], shown: list[str], table: list[Any]
) -> Figure | None:
    """Real vs predicted answer shares, per item, in the two groups of one attribute whose real answers differ the
    most (the most divided): where role-play should separate people, does it? ``records`` are realism rows
    (respondent, item, predictor, real, choice), ``groups`` each respondent's banded group per attribute (indexed
    by respondent), ``table`` the metrics' groups (only ranked ones are drawn)."""
    ranked = sorted({(g.attribute, g.group) for g in table if g.ranked})
    truth = records.drop_duplicates(["respondent", "item"])
    truth = truth[truth["real"].notna()]

    def shares(rows: Any, column: str, item: str) -> np.ndarray:
        codes = list(options[item])
        counts = rows[column].value_counts()
        total = counts.sum()
        return np.array([counts.get(code, 0) / total if total else 0.0 for code in codes])

    real: dict[tuple[str, str], dict[str, np.ndarray]] = {label: {} for label in ranked}
    for item in options:
        rows = truth[truth["item"] == item]
        member = groups.loc[rows["respondent"]]
        for attribute, group in ranked:
            mine = rows[member[attribute].to_numpy() == group]
            if len(mine):
                real[(attribute, group)][item] = shares(mine, "real", item)
    best: tuple[float, tuple[str, str], tuple[str, str]] | None = None
    for i, first in enumerate(ranked):
        for second in ranked[i + 1 :]:
            both = [item for item in real[first] if item in real[second]]
            if first[0] != second[0] or not both:
                continue
            gap = float(np.mean([0.5 * np.abs(real[first][i] - real[second][i]).sum() for i in both]))
            if best is None or gap > best[0]:
                best = (gap, first, second)
    if best is None:
        return None
    _, first, second = best
    items = list(options)[:6]
    figure = _figure(figsize=(7.0, 1.0 + 1.35 * len(items)), layout="constrained")
    axes_grid = figure.subplots(len(items), 2, squeeze=False, sharey=True)
    series = ["real", *shown]
    for row, item in enumerate(items):
        codes = list(options[item])
        for col, (attribute, group) in enumerate((first, second)):
            axes: Axes = axes_grid[row][col]
            rows = records[records["item"] == item]
            member = groups.loc[rows["respondent"]][attribute].to_numpy()
            mine = rows[member == group]
            for k, name in enumerate(series):
                part = mine.drop_duplicates("respondent") if name == "real" else mine[mine["predictor"] == name]
                values = shares(part, "real" if name == "real" else "choice", item)
                x = np.arange(len(codes)) + (k - (len(series) - 1) / 2) * 0.8 / len(series)
                color = "0.25" if name == "real" else PALETTE[k % len(PALETTE)]
                label = name if row == 0 and col == 0 else None
                axes.bar(x, values, width=0.8 / len(series), color=color, label=label)
            axes.set_xticks(range(len(codes)), [options[item][c] for c in codes], fontsize=6)
            axes.set_ylim(0, 1)
            axes.tick_params(axis="y", labelsize=6)
            axes.set_title(f"{item} - {attribute}: {group} (n={mine['respondent'].nunique()})", fontsize=7, loc="left")
    figure.legend(fontsize=7, loc="outside upper center", ncols=len(series))
    figure.supylabel("share of answers", fontsize=7)
    return figure
