"""The census fidelity report of a population: each attribute's shares, and each pair's joint distribution."""

from __future__ import annotations

import math
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from persona.data.census import CensusSample
from persona.data.io import atomic_write_text
from persona.data.persona import Persona
from persona.metrics.fidelity import Fidelity, compare
from persona.metrics.joint import NULL_QUANTILE, JointFidelity, joint_fidelity
from persona.reports.figures import fidelity_overview, fidelity_plot, joint_gap_plot, save_figure

# The attributes of the paper's census comparison figures, drawn together in fidelity.png.
OVERVIEW = ("age", "sex", "race", "education", "income", "marital status")
SHOWN_GAPS = 3  # pairs whose cell-by-cell gaps fidelity_joint.png draws


class FidelityReport(NamedTuple):
    marginals: list[Fidelity]
    joint: list[JointFidelity]  # largest excess over sampling noise first


def fidelity_results(source: CensusSample, personas: list[Persona], min_age: int = 0, seed: int = 0) -> FidelityReport:
    """Every census-backed attribute, and every pair of them, against the source as the age rules leave it."""
    frame, weights = source.as_personas(min_age)
    values = {name: [p.attributes[name] for p in personas] for name in source.census_backed}
    marginals = [compare(name, frame[name], weights, values[name]) for name in source.census_backed]
    joint = joint_fidelity(frame, weights, pd.DataFrame(values), list(source.census_backed), seed=seed)
    return FidelityReport(marginals, joint)


def write_fidelity_report(
    run_dir: Path, source: CensusSample, personas: list[Persona], min_age: int, seed: int = 0
) -> FidelityReport:
    """``fidelity.md``, one PNG per attribute, the overview grid, and the largest joint gaps."""
    report = fidelity_results(source, personas, min_age, seed)
    label = "ACS 2012 sample" if source.name == "acs12" else "PUMS (weighted)"
    for result in report.marginals:
        fidelity_plot(result, run_dir / "fidelity" / f"{_slug(result.attribute)}.png", source_label=label)
    overview = [r for r in report.marginals if r.attribute in OVERVIEW]
    fidelity_overview(overview, run_dir / "fidelity.png", source_label=label)
    if report.joint:
        save_figure(joint_gap_plot(report.joint[:SHOWN_GAPS], source_label=label), run_dir / "fidelity_joint.png")
    atomic_write_text(run_dir / "fidelity.md", render_fidelity(report, source))
    return report


def _slug(name: str) -> str:
    return name.lower().replace(" ", "-")


def _num(value: float, digits: int = 3) -> str:
    return "n/a" if math.isnan(value) else ("inf" if math.isinf(value) else f"{value:.{digits}f}")


def render_fidelity(report: FidelityReport, source: CensusSample) -> str:
    lines = [
        "# Census fidelity",
        "",
        f"Personas against `{source.name}` (weighted by its person weights, rows under the same age rules).",
        "TVD is the total variation distance (0 = identical shares, 1 = disjoint); the chi-square test pools",
        "categories expected fewer than 5 times. A small p-value says the personas' shares differ from the source's",
        "more than sampling alone explains.",
        "",
        "| attribute | personas | categories | TVD | chi-square | dof | p-value | plot |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in report.marginals:
        lines.append(
            f"| {r.attribute} | {r.personas} | {len(r.table)} | {_num(r.tvd)} | {_num(r.chi2, 2)} | {r.dof} "
            f"| {_num(r.p_value)} | [png](fidelity/{_slug(r.attribute)}.png) |"
        )
    lines += ["", "![census vs personas](fidelity.png)", ""]
    return "\n".join(lines + render_joint(report.joint))


def render_joint(joint: list[JointFidelity]) -> list[str]:
    """The pairs table: matching every marginal is not enough if the personas break how attributes go together."""
    if not joint:
        return []
    flagged = [r for r in joint if r.flagged]
    level = round(NULL_QUANTILE * 100)
    lines = [
        "## Pairs of attributes (joint fidelity)",
        "",
        "For each pair of census-backed attributes: the TVD of the joint distribution (an attribute's rarest",
        "categories pooled), the TVD that populations of the same size drawn from the source itself stay under",
        f"{level}% of the time, and Cramér's V (strength of association, 0 to 1) in the source and the personas.",
        f"**{len(flagged)} of {len(joint)} pairs** are further from the source than sampling explains (flagged).",
        "",
        f"| pair | joint TVD | sampling {level}% | excess | V source | V personas | flagged |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in joint:
        lines.append(
            f"| {r.first} x {r.second} | {_num(r.tvd)} | {_num(r.null_tvd)} | {_num(r.excess)} "
            f"| {_num(r.cramers_v_source)} | {_num(r.cramers_v_personas)} | {'yes' if r.flagged else ''} |"
        )
    return [*lines, "", "![largest joint gaps](fidelity_joint.png)", ""]
