"""Generate a persona population into a run dir: draw, LM-check, LM-fill, and report census fidelity.

The run dir holds ``population.json`` (the spec), ``personas.jsonl``, ``draws.jsonl`` (every consistency
verdict), ``fidelity.md`` with PNG plots, ``report.md`` and ``manifest.json``. Like ``persona run``, running the
same spec into the same dir resumes from the item log and replays finished LM calls from the run cache.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, Field

from persona.data.census import CensusSample
from persona.data.io import atomic_write_text, write_jsonl
from persona.data.persona import Persona, read_personas
from persona.data.population import PROFILE_CATEGORIES
from persona.data.sources import SourceError, load_source
from persona.experiments.population import POPULATION_ROLE, PopulationSection, population_stage
from persona.lm.config import ModelConfig
from persona.reports.estimates import aborted_note, markdown
from persona.reports.fidelity import FidelityReport, write_fidelity_report
from persona.runs.kinds import Kind
from persona.runs.manifest import Manifest, Metrics
from persona.runs.session import Session
from persona.runs.spec import OneModelSpec

SPEC_FILE = "population.json"
RESULT_FILES = ("personas.jsonl", "draws.jsonl", "fidelity.md")


class PopulationSpec(OneModelSpec):
    """Everything a population depends on. Equal specs over an equal cache give byte-identical personas."""

    MODEL_ROLE = POPULATION_ROLE

    source: str = Field(default="acs12", description="'acs12' (embedded) or 'pums:PATH' (a file or folder)")
    n: int = Field(default=50, gt=0, description="personas to build")
    min_age: int = Field(default=0, ge=0, description="draw only people at least this old")
    check: bool = Field(default=True, description="LM consistency check with redraws of rejected profiles")
    max_draws: int = Field(default=5, gt=0, description="candidates per slot before the slot fails")
    fill: bool = Field(default=True, description="LM-written job description and profile details")
    categories_per_persona: int = Field(
        default=2, ge=0, le=len(PROFILE_CATEGORIES), description="open-ended profile categories per persona"
    )
    dictionary: str | None = Field(default=None, description="PUMS data dictionary CSV; default the embedded 2023")
    kind: Literal["personas"] = "personas"

    def default_dir(self) -> Path:
        name = "acs12" if self.source == "acs12" else "pums"
        return Path("outputs") / f"personas-{name}-n{self.n}-seed{self.seed}"


PERSONAS = Kind("personas", PopulationSpec)


class PopulationResult(NamedTuple):
    run_dir: Path
    personas: list[Persona]
    manifest: Manifest


@PERSONAS.reads
def _source(spec: PopulationSpec) -> CensusSample:
    return load_source(spec.source, spec.dictionary)


@PERSONAS.needs
def _models(spec: PopulationSpec, source: CensusSample) -> dict[str, ModelConfig]:
    return {"persona": spec.model} if spec.check or spec.fill else {}


@PERSONAS.runs
def _run(session: Session, spec: PopulationSpec, inputs: Any) -> PopulationResult:
    """Build the population of ``spec`` and write its fidelity report."""
    source = inputs
    run_dir = session.run_dir
    atomic_write_text(run_dir / SPEC_FILE, spec.model_dump_json(indent=2) + "\n")
    options = PopulationSection(
        check=spec.check,
        max_draws=spec.max_draws,
        fill=spec.fill,
        categories_per_persona=spec.categories_per_persona,
    )
    slots, stage = population_stage(session, source, spec.n, spec.seed, spec.min_age, options, "persona")
    personas, draws, failures = [], [], []
    for (slot, _), entry in zip(slots, stage.entries, strict=True):
        if entry.record is not None:
            personas.append(Persona.model_validate(entry.record["persona"]))
            draws += [{"slot": slot, **draw, "accepted": draw["consistent"]} for draw in entry.record["draws"]]
        else:
            failures.append({"slot": slot, **(entry.error.model_dump() if entry.error else {})})
    write_jsonl(run_dir / "personas.jsonl", (p.model_dump() for p in personas))
    write_jsonl(run_dir / "draws.jsonl", draws)
    fidelity = write_fidelity_report(run_dir, source, personas, spec.min_age, spec.seed)
    metrics = population_metrics(draws, failures, fidelity, spec)
    manifest = session.finish(
        files=list(RESULT_FILES),
        metrics=metrics,
        report=lambda manifest: render_report(manifest, source, fidelity),
        failures={"personas.jsonl": len(failures)},
    )
    return PopulationResult(run_dir, personas, manifest)


generate_personas = PERSONAS.entry("generate_personas")


class SlotFailure(BaseModel):
    """A persona slot that was never filled, and why."""

    slot: int
    type: str
    message: str
    attempts: int


@PERSONAS.measures
class PopulationMetrics(Metrics):
    """How many personas were built, how many profiles the consistency check pruned, and census fidelity."""

    personas: int
    slots_failed: int
    profiles_checked: int = Field(description="drawn profiles judged by the consistency check")
    profiles_rejected: int
    pruning_rate: float | None = Field(description="rejected / checked (the paper pruned about 8.5%)")
    fidelity_mean_tvd: float | None = Field(description="mean total variation distance over census-backed attributes")
    joint_pairs: int = Field(description="pairs of census-backed attributes compared jointly")
    joint_flagged: list[str] = Field(description="pairs whose joint distribution is further off than sampling explains")
    failed_slots: list[SlotFailure]


def population_metrics(
    draws: list[dict], failures: list[dict], fidelity: FidelityReport, spec: PopulationSpec
) -> PopulationMetrics:
    """Pruning from the verdicts: a slot that failed every draw counts ``max_draws`` rejections."""
    exhausted = sum(f["type"] == "NoConsistentProfileError" for f in failures)
    checked = len(draws) + exhausted * spec.max_draws
    rejected = sum(not d["consistent"] for d in draws) + exhausted * spec.max_draws
    return PopulationMetrics(
        personas=spec.n - len(failures),
        slots_failed=len(failures),
        profiles_checked=checked,
        profiles_rejected=rejected,
        pruning_rate=_round(rejected / checked) if checked else None,
        fidelity_mean_tvd=_round(sum(f.tvd for f in fidelity.marginals) / len(fidelity.marginals))
        if fidelity.marginals
        else None,
        joint_pairs=len(fidelity.joint),
        joint_flagged=[f"{r.first} x {r.second}" for r in fidelity.joint if r.flagged],
        failed_slots=[SlotFailure.model_validate(failure) for failure in failures],
    )


def _round(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else round(value, 4)


def render_report(manifest: Manifest, source: CensusSample, fidelity: FidelityReport) -> str:
    m, spec = manifest.results(PopulationMetrics), manifest.spec
    steps = ["census draw + procedural attributes"]
    steps += [f"LM consistency check (up to {spec['max_draws']} draws per slot)"] if spec["check"] else []
    steps += [f"LM filling ({spec['categories_per_persona']} profile categories each)"] if spec["fill"] else []
    lines = [
        f"# Personas from `{source.name}`",
        "",
        f"{m.personas} of {spec['n']} personas built (seed {spec['seed']}, min age {spec['min_age']}): "
        + " -> ".join(steps)
        + ".",
        "",
        f"Census-backed attributes: {', '.join(source.census_backed)}.",
        "",
    ]
    if spec["check"]:
        rate = "n/a" if m.pruning_rate is None else f"{m.pruning_rate:.1%}"
        lines += [
            f"Consistency check: {m.profiles_rejected} of {m.profiles_checked} profiles rejected "
            f"(pruning rate {rate}; the paper pruned about 8.5%); {m.slots_failed} slots failed.",
            "",
        ]
    lines += aborted_note(manifest.aborted)
    lines += [
        f"Mean TVD over {len(fidelity.marginals)} attributes: {m.fidelity_mean_tvd}; {len(m.joint_flagged)} of "
        f"{m.joint_pairs} pairs of attributes further from the source jointly than sampling explains. "
        "See [fidelity.md](fidelity.md).",
        "",
    ]
    return markdown(lines, manifest.cost_line())


def report(run_dir: Path) -> FidelityReport:
    """Rebuild the fidelity report of a finished population run from its files (``persona personas report``)."""
    spec_path = run_dir / SPEC_FILE
    if not spec_path.exists():
        raise SourceError(f"{run_dir}: no {SPEC_FILE}; not a `persona personas generate` run dir")
    spec = PopulationSpec.model_validate_json(spec_path.read_text(encoding="utf-8"))
    personas = read_personas(run_dir / "personas.jsonl")
    source = load_source(spec.source, spec.dictionary)
    return write_fidelity_report(run_dir, source, personas, spec.min_age, spec.seed)


@PERSONAS.summarises
def _summary(result: PopulationResult) -> list[str]:
    m = result.manifest.results(PopulationMetrics)
    pruning = "" if m.pruning_rate is None else f"; pruned {m.pruning_rate:.1%} of {m.profiles_checked} drawn"
    return [f"{m.personas} personas{pruning}; mean census TVD {m.fidelity_mean_tvd} (personas.jsonl, fidelity.md)"]
