"""The quickstart: personas -> prompts -> DPF pairs -> bench in one run, every LM call cached and every item logged.

A run dir holds the LM cache, one append log per stage and the result files. Running the same spec into it
again resumes: finished items are read from the logs, unfinished ones run (their finished LM calls replay from
the cache), and the result files are rebuilt in item order, byte for byte what an uninterrupted run writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal, NamedTuple

import numpy as np
from pydantic import Field, field_validator
from rich.progress import Progress

from persona.data.io import write_jsonl
from persona.data.persona import Persona
from persona.data.population import sample_personas
from persona.data.prompts import Prompt, load_embedded_prompts, value_laden
from persona.data.sources import load_source
from persona.errors import InputError
from persona.experiments.inputs import SAMPLE_FIELDS, Item, JudgedSamples, PairRecord, dpf_pairs, judged_samples
from persona.lm.roles import Role
from persona.metrics import EstimateRecord, pass_rate
from persona.reports import format_estimate, small_sample_note
from persona.reports.estimates import aborted_note, markdown
from persona.runs.engine import run_kind
from persona.runs.kinds import Kind
from persona.runs.manifest import CallCounts, Manifest, Metrics
from persona.runs.session import Session
from persona.runs.spec import OUTPUTS, RolesSpec, Section

RESULT_FILES = ("personas.jsonl", "prompts.jsonl", "pairs.jsonl", "bench.jsonl")


class PersonaSection(Section):
    source: str = Field(default="acs12", pattern=r"^(acs12|pums:.+)$", description="'acs12' or 'pums:PATH'")
    n: int = Field(default=4, gt=0)
    min_age: int = Field(default=18, ge=0)


class PromptSection(Section):
    source: Literal["embedded"] = "embedded"
    per_persona: int = Field(default=3, gt=0, description="prompts drawn independently for each persona")

    @field_validator("per_persona")
    @classmethod
    def _available(cls, value: int) -> int:
        available = len(value_laden(load_embedded_prompts()))
        if value > available:
            raise ValueError(f"at most {available}, the embedded value-laden prompts there are; got {value}")
        return value


class BenchSection(Section):
    samples: int = Field(default=1, gt=0, description="answers drawn per item; >1 draws at `temperature`")
    temperature: float = Field(default=0.7, gt=0.0, le=2.0)
    confidence: float = Field(default=0.95, gt=0.0, lt=1.0)
    resamples: int = Field(default=1000, gt=0)


class RunSpec(RolesSpec):
    """Everything a run depends on. Equal specs over an equal cache give byte-identical results."""

    # A role left out runs on the embedded default; spelling it out keeps manifests explicit.
    ROLES: ClassVar[dict[str, Role]] = {"generator": Role(), "judge": Role(), "persona": Role(like="generator")}

    kind: Literal["quickstart"] = "quickstart"
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    personas: PersonaSection = PersonaSection()
    prompts: PromptSection = PromptSection()
    bench: BenchSection = BenchSection()

    def default_dir(self) -> Path:
        return OUTPUTS / self.name


QUICKSTART = Kind("quickstart", RunSpec, placeholders={"name": "quickstart"})


@QUICKSTART.exports
class RunResult(NamedTuple):
    run_dir: Path
    manifest: Manifest


def plan_items(personas: list[Persona], prompts: list[Prompt], per_persona: int, seed: int) -> list[Item]:
    """Pair each persona with prompts drawn independently of who they are, as the paper does."""
    if per_persona > len(prompts):
        raise InputError(f"prompts.per_persona={per_persona} exceeds the {len(prompts)} prompts available")
    rng = np.random.default_rng([seed, 1])
    return [
        Item(persona, prompts[index])
        for persona in personas
        for index in sorted(rng.choice(len(prompts), size=per_persona, replace=False))
    ]


def _ids(item: Item) -> dict[str, Any]:
    return {"persona_id": item.persona.id, "prompt_id": item.prompt.id}


@QUICKSTART.measures
class RunMetrics(Metrics):
    """The quickstart's metrics: the bench pass rate and what became of the pairs."""

    bench_pass_rate: EstimateRecord = Field(description="share of judged answers that need no revision, with CI")
    bench_confidence: float = Field(description="level of the pass rate's bootstrap interval")
    bench_failures: int = Field(description="bench items that failed (no answer)")
    bench_judge_failures: int = Field(description="answers whose judge output never parsed (excluded)")
    pairs_built: int
    pairs_failed: int
    pairs_chosen_shorter: int = Field(description="built pairs whose chosen answer is shorter than the rejected")


def summarize(pairs: list[dict], bench: list[dict], spec: RunSpec) -> RunMetrics:
    """Run-level metrics from the records alone (so they can be recomputed from the JSONL files)."""
    judged = [r["passed"] for r in bench if r["error"] is None and r["passed"] is not None]
    built = [r for r in pairs if r["error"] is None]
    return RunMetrics(
        bench_pass_rate=EstimateRecord.of(
            pass_rate(judged, confidence=spec.bench.confidence, resamples=spec.bench.resamples, seed=spec.seed)
        ),
        bench_confidence=spec.bench.confidence,
        bench_failures=sum(r["error"] is not None for r in bench),
        bench_judge_failures=sum(r["error"] is None and r["judge_error"] is not None for r in bench),
        pairs_built=len(built),
        pairs_failed=len(pairs) - len(built),
        pairs_chosen_shorter=sum(r["shorter"] for r in built),
    )


@QUICKSTART.reads
def _inputs(spec: RunSpec) -> tuple[list[Persona], list[Item]]:
    source = load_source(spec.personas.source)
    personas = sample_personas(spec.personas.n, seed=spec.seed, min_age=spec.personas.min_age, source=source)
    return personas, plan_items(personas, value_laden(load_embedded_prompts()), spec.prompts.per_persona, spec.seed)


@QUICKSTART.runs
def _run(session: Session, spec: RunSpec, inputs: Any) -> RunResult:
    """Pairs, then bench, over the planned items; result files rebuilt in item order."""
    personas, items = inputs
    used_prompts = sorted({item.prompt.id: item.prompt for item in items}.values(), key=lambda p: p.id)
    run_dir = session.run_dir
    built = session.stage(
        "pairs", items, key=lambda item: item.key, make_work=dpf_pairs, record=PairRecord, label="preference pairs"
    )
    if not built.aborted:
        session.stage(
            "bench",
            items,
            key=lambda item: item.key,
            make_work=lambda lms: judged_samples(
                lms, "generator", "no_cot", spec.bench.samples, spec.bench.temperature
            ),
            record=JudgedSamples,
        )
    pairs = built.rows(items, _ids, PairRecord.fields())
    bench_records = (
        session.stages["bench"].rows(items, _ids, SAMPLE_FIELDS, expand=lambda record: record["samples"])
        if "bench" in session.stages
        else []
    )
    write_jsonl(run_dir / "personas.jsonl", (p.model_dump() for p in personas))
    write_jsonl(run_dir / "prompts.jsonl", (p.model_dump() for p in used_prompts))
    write_jsonl(run_dir / "pairs.jsonl", pairs)
    write_jsonl(run_dir / "bench.jsonl", bench_records)
    metrics = summarize(pairs, bench_records, spec)
    manifest = session.finish(
        files=list(RESULT_FILES),
        metrics=metrics,
        report=lambda manifest: render_report(manifest, len(personas), len(items)),
        failures={"pairs.jsonl": metrics.pairs_failed, "bench.jsonl": metrics.bench_failures},
    )
    return RunResult(run_dir, manifest)


@QUICKSTART.exports
def run(
    spec: RunSpec,
    out: Path | None = None,
    progress: Progress | None = None,
    concurrency: int | None = None,
    max_failures: int | None = None,
    spec_path: Path | None = None,
) -> RunResult:
    """Execute ``spec`` into its run dir (default ``outputs/<name>``), resuming whatever an earlier, interrupted run
    of it finished; ``concurrency`` and ``max_failures`` default to its ``[run]`` section."""
    return run_kind(
        spec,
        out,
        progress=progress,
        concurrency=concurrency or spec.run.concurrency,
        max_failures=max_failures or spec.run.max_failures,
        spec_path=spec_path,
    )


def render_report(manifest: Manifest, n_personas: int, n_items: int) -> str:
    m = manifest.results(RunMetrics)
    rate = m.bench_pass_rate
    level = round(m.bench_confidence * 100)
    lines = [
        f"# Run `{manifest.spec['name']}`",
        "",
        f"{n_personas} personas x {manifest.spec['prompts']['per_persona']} prompts = {n_items} items; "
        f"seed {manifest.seed}.",
        "",
    ]
    lines += aborted_note(manifest.aborted)
    lines += [
        "## PERSONA Bench (judge: needs no revision = pass)",
        "",
        f"| pass rate, {level}% CI | judged answers | failed items | unparseable judge outputs (excluded) |",
        "|---|---|---|---|",
        f"| {format_estimate(rate)} | {rate.n} | {m.bench_failures} | {m.bench_judge_failures} |",
        "",
        *small_sample_note([rate]),
        "## DPF preference pairs",
        "",
        f"{m.pairs_built} built, {m.pairs_failed} failed; "
        f"chosen shorter than rejected (in tokens) in {m.pairs_chosen_shorter} of {m.pairs_built}.",
        "",
        "## LM calls",
        "",
        "| role | model | model calls | cache hits |",
        "|---|---|---|---|",
    ]
    for role, record in manifest.models.items():
        counts = manifest.calls.get(role, CallCounts())
        lines.append(f"| {role} | `{record.model}` | {counts.misses} | {counts.hits} |")
    lines += [
        "",
    ]
    return markdown(lines, manifest.cost_line())


@QUICKSTART.summarises
def _summary(result: RunResult) -> list[str]:
    rate = result.manifest.results(RunMetrics).bench_pass_rate
    shown = "n/a" if rate.value is None else f"{rate.value:.3f} [{rate.low:.3f}, {rate.high:.3f}]"
    return [f"[bold]{result.manifest.spec['name']}[/]: bench pass rate {shown} over {rate.n} answers"]
