"""Reports from finished bench, pass@k and LOO run dirs, without any LM: one re-rendered, several compared, slices."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from persona.data.io import atomic_write_text, make_folder, read_jsonl, write_jsonl
from persona.data.persona import ATTRIBUTES, read_personas
from persona.errors import InputError
from persona.metrics.slices import Predicate, slice_accuracy
from persona.reports.bench import accuracy_by_mode
from persona.reports.figures import accuracy_plot, dropped_comparison_plot, elicit_plot, passk_plot, save_figure
from persona.reports.slices import slices_table
from persona.runs.kinds import get_kind
from persona.runs.manifest import Manifest


def load_manifest(run_dir: Path) -> Manifest:
    path = Path(run_dir) / "manifest.json"
    if not path.exists():
        raise InputError(f"{run_dir}: no manifest.json; is this a finished `persona bench` run dir?")
    try:
        manifest = Manifest.model_validate_json(path.read_bytes())
    except ValueError:
        raise InputError(f"{path}: not a readable run manifest") from None
    if manifest.metrics is None:
        raise InputError(f"{run_dir}: the run stopped before its results (see its report.md); nothing to report")
    if get_kind(manifest.kind).report is None:
        raise InputError(f"{run_dir}: not a bench, pass@k or LOO run (kind {manifest.kind!r})")
    return manifest


def _label(manifest: Manifest) -> str:
    """The model that names a run in a comparison: its kind's model under test."""
    subject = get_kind(manifest.kind).subject
    return manifest.models[subject].model if subject in manifest.models else manifest.kind


def report_runs(run_dirs: list[Path], out: Path | None = None) -> list[Path]:
    """One run dir: its report.md and plots rendered again (into ``out``, default the run dir). Several: a
    comparison of their models (accuracy per mode, pass@k curves) into ``out`` (default outputs/bench-report)."""
    manifests = [load_manifest(run_dir) for run_dir in run_dirs]
    if len(manifests) == 1:
        target = Path(out or run_dirs[0])
        make_folder(target)
        kind = get_kind(manifests[0].kind)
        assert kind.report is not None  # load_manifest refuses kinds without one
        atomic_write_text(target / "report.md", kind.report(manifests[0]))
        plots = kind.plots(manifests[0], target) if kind.plots is not None else []
        return [target / "report.md", *(target / name for name in plots)]
    loo = [str(run_dir) for run_dir, m in zip(run_dirs, manifests, strict=True) if m.kind == "loo"]
    if loo:
        raise InputError(f"{loo[0]}: a leave-one-out run has no model comparison; compare bench or pass@k run dirs")
    target = Path(out or Path("outputs") / "bench-report")
    make_folder(target)
    return compare_runs(list(zip(run_dirs, manifests, strict=True)), target)


def compare_runs(runs: list[tuple[Path, Manifest]], out: Path) -> list[Path]:
    """The model-comparison table and Figure 10 (main runs), the overlaid pass@k curves (pass@k runs), and the
    accuracy-per-budget curves (elicitation runs)."""
    written = []
    lines = ["# PERSONA Bench: model comparison", ""]
    # Bench and pass@k runs are compared by what their metrics hold (reports know no experiment's classes).
    bench: list[tuple[Path, Any]] = [(d, m) for d, m in runs if m.kind == "bench"]
    if bench:
        modes = list(dict.fromkeys(mode for _, m in bench for mode in m.metrics.modes))
        level = round(bench[0][1].metrics.confidence * 100)
        lines += [
            f"Accuracy ({level}% CI) per mode; judge per run in the last column.",
            "",
            "| model | " + " | ".join(modes) + " | judge | run |",
            "|---" * (len(modes) + 3) + "|",
        ]
        for run_dir, m in bench:
            cells = []
            for mode in modes:
                row = m.metrics.modes.get(mode)
                e = row.accuracy if row is not None else None
                cells.append("-" if e is None or e.value is None else f"{e.value:.3f} [{e.low:.3f}, {e.high:.3f}]")
            lines.append(f"| `{_label(m)}` | " + " | ".join(cells) + f" | `{m.models['judge'].model}` | {run_dir} |")
        labels = [_unique_label(m, i, bench) for i, (_, m) in enumerate(bench)]
        models = {label: accuracy_by_mode(m.metrics) for label, (_, m) in zip(labels, bench, strict=True)}
        save_figure(accuracy_plot(models, bench[0][1].metrics.confidence), out / "accuracy.png")
        written.append(out / "accuracy.png")
        lines += ["", "![accuracy per mode and model](accuracy.png)", ""]
        summarised = [(d, m) for d, m in bench if m.metrics.dropped]
        dropped = {_unique_label(m, i, summarised): m.metrics.dropped for i, (_, m) in enumerate(summarised)}
        if dropped:
            lines += _dropped_comparison(dropped)
            save_figure(
                dropped_comparison_plot(
                    {label: {r.attribute: r.dropped_match_share for r in rows} for label, rows in dropped.items()}
                ),
                out / "dropped.png",
            )
            written.append(out / "dropped.png")
    passk: list[tuple[Path, Any]] = [(d, m) for d, m in runs if m.kind == "passk"]
    if passk:
        curves = {
            f"{_unique_label(m, i, passk)} ({m.spec['mode']})": {
                k: v for k, v in m.metrics.curve.items() if v is not None
            }
            for i, (_, m) in enumerate(passk)
        }
        save_figure(passk_plot(curves), out / "passk.png")
        written.append(out / "passk.png")
        ks = sorted({k for curve in curves.values() for k in curve})
        lines += ["## pass@k", "", "| run | " + " | ".join(f"k={k}" for k in ks) + " |", "|---" * (len(ks) + 1) + "|"]
        lines += [
            f"| {label} | " + " | ".join(f"{c[k]:.3f}" if k in c else "-" for k in ks) + " |"
            for label, c in curves.items()
        ]
        lines += ["", "![pass@k](passk.png)", ""]
    elicit: list[tuple[Path, Any]] = [(d, m) for d, m in runs if m.kind == "elicit"]
    if elicit:
        lines += _elicit_comparison(elicit, out)
        written.append(out / "elicit.png")
    atomic_write_text(out / "report.md", "\n".join(lines))
    return [out / "report.md", *written]


def _elicit_comparison(runs: list[tuple[Path, Any]], out: Path) -> list[str]:
    """Accuracy per question budget of several elicitation runs (models or asking policies) on one chart."""
    curves = {
        f"{_unique_label(m, i, runs)} ({m.spec['asker']})": {
            int(b): s.accuracy for b, s in m.metrics.budgets.items() if b.isdigit() and s.accuracy.value is not None
        }
        for i, (_, m) in enumerate(runs)
    }
    save_figure(elicit_plot(curves, None), out / "elicit.png")
    budgets = sorted({b for curve in curves.values() for b in curve})

    def ceiling(m: Any) -> str:
        score = m.metrics.budgets.get("profile")
        return "-" if score is None or score.accuracy.value is None else f"{score.accuracy.value:.3f}"

    return [
        "## Elicitation: accuracy per question budget",
        "",
        "| run | " + " | ".join(f"{b} asked" for b in budgets) + " | full profile |",
        "|---" * (len(budgets) + 2) + "|",
        *(
            f"| {label} | " + " | ".join(f"{c[b].value:.3f}" if b in c else "-" for b in budgets) + f" | {ceiling(m)} |"
            for (label, c), (_, m) in zip(curves.items(), runs, strict=True)
        ),
        "",
        "![accuracy per budget](elicit.png)",
        "",
    ]


def _dropped_comparison(dropped: dict[str, list[Any]]) -> list[str]:
    """Figure 11 across models: per attribute, each model's share of summaries that dropped it."""
    attributes = sorted({r.attribute for rows in dropped.values() for r in rows})
    share = {label: {r.attribute: r for r in rows} for label, rows in dropped.items()}

    def cell(label: str, attribute: str) -> str:
        row = share[label].get(attribute)
        if row is None:
            return "-"
        llm = "n/a" if row.dropped_llm_share is None else f"{row.dropped_llm_share:.2f}"
        return f"{row.dropped_match_share:.2f} / {llm}"

    return [
        "## What summaries drop, per model (Figure 11)",
        "",
        "Share of summaries that dropped each attribute: exact/synonym match / LLM diff judge.",
        "",
        "| attribute | " + " | ".join(f"`{label}`" for label in dropped) + " |",
        "|---" * (len(dropped) + 1) + "|",
        *(f"| {a} | " + " | ".join(cell(label, a) for label in dropped) + " |" for a in attributes),
        "",
        "![dropped attributes per model](dropped.png)",
        "",
    ]


def _unique_label(manifest: Manifest, index: int, runs: list[tuple[Path, Manifest]]) -> str:
    label = _label(manifest)
    same = sum(_label(m) == label for _, m in runs)
    return label if same == 1 else f"{label} #{index + 1}"


def run_slices(run_dir: Path, predicates: list[str], out: Path | None = None, seed: int = 0) -> pd.DataFrame:
    """Accuracy per slice (and mode) of a finished main or pass@k run, from its records and personas."""
    run_dir = Path(run_dir)
    manifest = load_manifest(run_dir)
    kind = manifest.kind
    if kind == "loo":
        raise InputError(f"{run_dir}: slices need a bench or pass@k run, not a LOO run")
    path = run_dir / f"{kind}.jsonl"
    if not path.is_file():
        raise InputError(f"{run_dir}: no {kind}.jsonl; is this a finished `persona bench` run dir?")
    records = pd.DataFrame(
        [r for r in read_jsonl(path) if r["error"] is None],
        columns=["persona_id", "passed", "mode"],
    )
    personas = {p.id: p.attributes for p in read_personas(run_dir / "personas.jsonl")}
    table = slice_accuracy(records, personas, [Predicate(text, ATTRIBUTES) for text in predicates], seed=seed)
    target = Path(out or run_dir / "slices")
    rows = table.astype(object).where(table.notna(), None).to_dict("records")
    write_jsonl(target / "slices.jsonl", rows)
    atomic_write_text(target / "slices.md", _slices_markdown(rows))
    return table


def _slices_markdown(rows: list[dict[str, Any]]) -> str:
    return "\n".join(["# Intersections", "", *slices_table(rows)])
