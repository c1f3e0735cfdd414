"""Report figures inspected as matplotlib objects: zero data stays visible, counts tick at integers, text is legible."""

from collections import Counter
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from persona.reports import figures as plots


def _drawn(figure: Figure) -> Figure:
    FigureCanvasAgg(figure).draw()
    return figure


def _texts(figure: Figure) -> list:
    return [t for axes in figure.axes for t in axes.texts]


def _tick_numbers(labels) -> list[float]:
    return [float(label.get_text().replace("\N{MINUS SIGN}", "-")) for label in labels if label.get_text()]


def _estimate(value: float | None, low: float | None = None, high: float | None = None) -> dict:
    return {"accuracy": {"value": value, "low": low, "high": high}}


def test_an_all_zero_accuracy_plot_shows_each_value_and_marks_missing_estimates():
    figure = _drawn(
        plots.accuracy_plot(
            {
                "model-a": {"direct": _estimate(0.0, 0.0, 0.0), "summary": _estimate(0.0, 0.0, 0.0)},
                "model-b": {"direct": _estimate(0.0, 0.0, 0.0), "summary": _estimate(None)},
            },
            0.95,
        )
    )
    assert sorted(t.get_text() for t in _texts(figure)) == ["0.00", "0.00", "0.00", "n/a"]
    markers = [
        line
        for line in figure.axes[0].lines
        if line.get_marker() == "o" and line.get_visible() and line.get_markersize() > 0
    ]
    assert len(markers) == 2
    assert all(np.nan_to_num(line.get_ydata()).tolist() == [0.0, 0.0] for line in markers)
    assert all(not line.get_clip_on() for line in markers)


def test_accuracy_value_labels_of_several_models_do_not_overlap():
    models = {
        f"model-{i}": {mode: _estimate(0.5 + 0.1 * i, 0.4 + 0.1 * i, 0.6 + 0.1 * i) for mode in ("a", "b", "c")}
        for i in range(5)
    }
    figure = _drawn(plots.accuracy_plot(models, 0.95))
    boxes = [t.get_window_extent() for t in _texts(figure)]
    assert len(boxes) == 15
    assert not any(first.overlaps(second) for first, second in combinations(boxes, 2))
    assert all(box.y1 <= figure.axes[0].get_window_extent().y1 for box in boxes)


@pytest.mark.parametrize("ks", [[1, 2, 3], [5]])
def test_passk_ticks_only_integer_k(ks: list[int]):
    figure = _drawn(plots.passk_plot({"model (direct)": {k: 0.1 * i for i, k in enumerate(ks)}}))
    numbers = _tick_numbers(figure.axes[0].get_xticklabels())
    assert numbers
    assert all(n == int(n) for n in numbers)


def _luma(color) -> float:
    red, green, blue, _ = to_rgba(color)
    return 0.299 * red + 0.587 * green + 0.114 * blue


def test_kappa_heatmap_text_is_white_on_dark_cells_and_black_on_light_ones():
    names = ["a", "b", "c"]
    matrix = pd.DataFrame([[1.0, -1.0, 0.0], [-1.0, 1.0, np.nan], [0.0, np.nan, 1.0]], index=names, columns=names)
    texts = {(t.get_position(), t.get_text()): t.get_color() for t in _texts(plots.kappa_heatmap(matrix, "kappa"))}
    assert len(texts) == 7
    for (_, text), color in texts.items():
        assert (_luma(color) > 0.9) if text in ("1.00", "-1.00") else (_luma(color) < 0.1)


def test_kappa_histograms_label_their_counts_at_integer_ticks():
    figure = _drawn(plots.kappa_histograms({"a vs b": [0.1, 0.5, 0.5], "a vs c": [0.2], "b vs c": [np.nan]}))
    assert len(figure.axes) == 3
    for axes in figure.axes:
        assert axes.get_ylabel()
        assert axes.yaxis.label.get_fontsize() == axes.xaxis.label.get_fontsize()
        assert all(n == int(n) for n in _tick_numbers(axes.get_yticklabels()))
    assert [t.get_text() for t in figure.axes[2].texts] == ["no defined kappa"]


def test_loo_plot_labels_its_axes_and_marks_attributes_without_kappa():
    axes = plots.loo_plot({"age": [0.2, 0.4, np.nan], "sex": [np.nan, np.nan]}).axes[0]
    assert axes.get_xlabel() and axes.get_ylabel()
    assert [t.get_text() for t in axes.texts] == ["no defined kappa"]


def test_dropped_plot_shows_zero_shares_and_marks_missing_judge_shares():
    rows = [
        {"attribute": "age", "dropped_llm_share": 0.0, "dropped_match_share": 0.0, "summaries": 4},
        {"attribute": "sex", "dropped_llm_share": None, "dropped_match_share": 0.0, "summaries": 4},
    ]
    axes = _drawn(plots.dropped_plot(rows)).axes[0]
    assert axes.get_ylabel()
    assert sorted(t.get_text() for t in axes.texts) == ["0.00", "0.00", "0.00", "n/a"]


def test_topic_plot_counts_prompts_at_integer_ticks(monkeypatch, tmp_path: Path):
    saved: list[Figure] = []
    monkeypatch.setattr(plots, "save_figure", lambda figure, path: saved.append(figure))
    plots.topic_plot(
        Counter({("food", "train"): 2, ("food", "heldout"): 1, ("travel", "train"): 1}), tmp_path / "t.png"
    )
    axes = _drawn(saved[0]).axes[0]
    assert axes.get_xlabel() and axes.get_ylabel()
    assert all(n == int(n) for n in _tick_numbers(axes.get_xticklabels()))
