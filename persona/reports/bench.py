"""The main evaluation's report and figures (Figures 10 and 11), from its manifest and typed metrics alone."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from persona.experiments.population import null_line
from persona.reports.estimates import format_estimate, small_sample_note
from persona.reports.figures import accuracy_plot, dropped_plot, save_figure
from persona.reports.judging import judge_note
from persona.reports.slices import slices_table
from persona.runs.manifest import Manifest

if TYPE_CHECKING:
    from persona.experiments.bench import BenchMetrics


def bench_plots(metrics: BenchMetrics, label: str, out: Path) -> list[str]:
    """Figure 10 (accuracy per mode) and, with summary analysis, Figure 11 (dropped attributes); names written."""
    save_figure(accuracy_plot({label: accuracy_by_mode(metrics)}, metrics.confidence), out / "accuracy.png")
    if not metrics.dropped:
        return ["accuracy.png"]
    save_figure(dropped_plot([row.model_dump() for row in metrics.dropped]), out / "dropped.png")
    return ["accuracy.png", "dropped.png"]


def accuracy_by_mode(metrics: BenchMetrics) -> dict[str, dict]:
    """Each mode's accuracy estimate, as ``accuracy_plot`` takes one model's bars."""
    return {mode: {"accuracy": row.accuracy.model_dump()} for mode, row in metrics.modes.items()}


def render_report(manifest: Manifest) -> str:
    spec, m = manifest.spec, manifest.metrics
    level = round(m.confidence * 100)
    lines = [
        f"# PERSONA Bench: `{manifest.models['responder'].model}`",
        "",
        f"{spec['n_personas']} personas x {spec['questions']} {spec['split']} questions x {len(spec['modes'])} modes; "
        f"judge `{manifest.models['judge'].model}`; seed {manifest.seed}. Pass = the judge finds no revision needed.",
        "",
        null_line(m.personas),
        "",
        *judge_note(manifest),
        f"| mode | accuracy, {level}% CI | judged | subtle, {level}% CI | failed items | unparseable judge outputs |",
        "|---|---|---|---|---|---|",
    ]
    for mode, row in m.modes.items():
        lines.append(
            f"| {mode} | {format_estimate(row.accuracy)} | {row.accuracy.n} | "
            f"{format_estimate(row.subtle)} | {row.failed_items} | "
            f"{row.judge_failures} revision, {row.subtlety_failures} subtlety |"
        )
    lines += [
        "",
        "Unparseable judge outputs (after re-asks) are excluded from the rates, never counted as passes or fails.",
        "",
        *small_sample_note(e for row in m.modes.values() for e in (row.accuracy, row.subtle)),
        "![accuracy per mode](accuracy.png)",
        "",
    ]
    if m.dropped:
        lines += [
            "## Summary mode: attributes the summaries dropped",
            "",
            "| attribute | dropped (LLM judge) | dropped (exact/synonym match) | summaries |",
            "|---|---|---|---|",
        ]
        for row in sorted(m.dropped, key=lambda r: -(r.dropped_match_share or 0)):
            llm = "n/a" if row.dropped_llm_share is None else f"{row.dropped_llm_share:.2f}"
            lines.append(f"| {row.attribute} | {llm} | {row.dropped_match_share:.2f} | {row.summaries} |")
        lines += [
            "",
            f"{m.dropped_judge_failures} diff-judge outputs did not parse.",
            "",
            "![dropped](dropped.png)",
            "",
        ]
    if m.slices:
        lines += ["## Intersections", "", *slices_table([row.model_dump() for row in m.slices], level)]
    lines += [manifest.calls_line(), ""]
    return "\n".join(lines)
