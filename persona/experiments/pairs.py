"""Build a per-persona DPF preference dataset into a run dir, verify it with a role-play annotator, and report.

Layout per persona (the paper's, scaled by the spec): prompts drawn from the train split give ``train`` pairs and
``test_seen`` pairs; prompts from the held-out split give ``heldout`` pairs. Every pair is then shown to an
annotator playing the persona, in a seeded A/B order, and its agreement with the chosen side is reported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, NamedTuple

import numpy as np
from pydantic import Field

from persona.data.io import write_jsonl
from persona.data.persona import NullAttributes, Persona, null_attributes
from persona.data.prompts import Prompt
from persona.data.splits import persona_split_line, persona_splits, split_counts, with_persona_split
from persona.errors import InputError
from persona.experiments.inputs import (
    POPULATION,
    Item,
    PairRecord,
    PersonasInput,
    dpf_pairs,
    experiment_personas,
    load_split_prompts,
    read_personas_input,
    role_models,
)
from persona.experiments.population import PopulationSection, population_role
from persona.lm.config import ModelConfig
from persona.lm.roles import Role
from persona.metrics import EstimateRecord, pass_rate
from persona.reports import estimates_table, format_estimate, small_sample_note
from persona.reports.estimates import markdown
from persona.reports.personas import null_line
from persona.runs.kinds import Kind
from persona.runs.manifest import Manifest, Metrics
from persona.runs.records import Record
from persona.runs.session import Session
from persona.runs.spec import RolesSpec

SPLITS = ("train", "test_seen", "test_heldout")
RESULT_FILES = ("personas.jsonl", "pairs.jsonl", "verification.jsonl")


class PairsSpec(RolesSpec):
    """Everything a preference dataset depends on. Paper values: 100 train, 50 seen-test, 50 held-out pairs."""

    # Answers and revises; critiques as the persona; verifies by role-play (both on the generator's backend unless
    # named).
    ROLES: ClassVar[dict[str, Role]] = {
        "generator": Role(200),
        "persona": Role(200, like="generator"),
        "judge": Role(200, like="generator"),
        POPULATION: population_role("generator"),  # checks and fills census personas
    }

    personas: str = Field(
        default="acs12",
        description="'acs12' or 'pums:PATH' (built by the full pipeline), personas.jsonl or its run dir, draw:SOURCE",
    )
    n_personas: int = Field(default=10, gt=0, description="personas made when `personas` is a census source")
    min_age: int = Field(default=18, ge=0, description="census personas are drawn from people at least this old")
    prompts: str = Field(default="embedded", description="'embedded' or a `persona prompts curate` run dir")
    train: int = Field(default=100, ge=0, description="train pairs per persona (paper: 100)")
    test_seen: int = Field(default=50, ge=0, description="seen-prompt test pairs per persona (paper: 50)")
    heldout: int = Field(default=50, ge=0, description="held-out-prompt pairs per persona (paper: 50)")
    verify: bool = Field(default=True, description="role-play verification of every pair")
    unseen: float | None = Field(
        default=None,
        gt=0,
        description="whole personas held out as test_unseen: a share (0.36) or a count (568); none: no persona split",
    )
    stratify: str | None = Field(
        default=None, description="persona attribute whose every value lands on both sides of the persona split"
    )
    population: PopulationSection = Field(
        default_factory=PopulationSection, description="how census personas are built (the full pipeline)"
    )
    kind: Literal["pairs"] = "pairs"
    ADDED_LATER = ("unseen", "stratify")

    def default_dir(self) -> Path:
        return Path("outputs") / f"pairs-{Path(self.personas).stem or 'personas'}-seed{self.seed}"


PAIRS = Kind("pairs", PairsSpec)


class Verification(Record):
    """The judge's pick, role-playing the persona, between a pair's two sides shown in their seeded order."""

    prefers_chosen: bool
    picked_first: bool
    chosen_shown_first: bool
    reasoning: str


class PairsResult(NamedTuple):
    run_dir: Path
    pairs: list[dict[str, Any]]
    manifest: Manifest


def check_layout(prompts: dict[str, list[Prompt]], spec: PairsSpec) -> None:
    """Refuse a layout the prompt set cannot fill, before any run dir exists."""
    seen, heldout = spec.train + spec.test_seen, spec.heldout
    if seen > len(prompts["train"]) or heldout > len(prompts["heldout"]):
        raise InputError(
            f"each persona needs {seen} train-split and {heldout} held-out prompts; the prompt set has "
            f"{len(prompts['train'])} and {len(prompts['heldout'])} (lower --train/--test-seen/--heldout)"
        )


def plan(personas: list[Persona], prompts: dict[str, list[Prompt]], spec: PairsSpec) -> list[Item]:
    """Each persona's prompts, drawn independently of who they are, without repeats within a persona."""
    check_layout(prompts, spec)
    seen, heldout = spec.train + spec.test_seen, spec.heldout
    items = []
    for index, persona in enumerate(personas):
        rng = np.random.default_rng([spec.seed, 4, index])
        drawn = rng.choice(len(prompts["train"]), size=seen, replace=False)
        items += [Item(persona, prompts["train"][i], "train") for i in drawn[: spec.train]]
        items += [Item(persona, prompts["train"][i], "test_seen") for i in drawn[spec.train :]]
        items += [
            Item(persona, prompts["heldout"][i], "test_heldout")
            for i in rng.choice(len(prompts["heldout"]), size=heldout, replace=False)
        ]
    return items


@PAIRS.reads
def _inputs(spec: PairsSpec) -> tuple[PersonasInput, dict[str, list[Prompt]]]:
    source, prompts = read_personas_input(spec), load_split_prompts(spec.prompts, spec.seed)
    check_layout(prompts, spec)
    return source, prompts


@PAIRS.needs
def _models(spec: PairsSpec, inputs: tuple[PersonasInput, dict[str, list[Prompt]]]) -> dict[str, ModelConfig]:
    return role_models(spec, ("generator", "persona", "judge") if spec.verify else ("generator", "persona"), inputs[0])


@PAIRS.runs
def _run(session: Session, spec: PairsSpec, inputs: Any) -> PairsResult:
    """Build, verify and report the dataset of ``spec``."""
    source, prompts = inputs
    run_dir = session.run_dir
    personas = experiment_personas(session, spec, source)
    items = plan(personas, prompts, spec)
    built = session.stage(
        "pairs", items, key=lambda item: item.key, make_work=dpf_pairs, record=PairRecord, label="preference pairs"
    )
    ready = [(item, e.record) for item, e in zip(items, built.entries, strict=True) if e.record is not None]
    checked = None
    if spec.verify:
        checked = session.stage(
            "verification",
            ready,
            key=lambda pair: pair[0].key,
            make_work=lambda lms: _verify(spec, lms),
            record=Verification,
        )

    models = {"generator": spec.models["generator"].model, "critic": spec.models["persona"].model}
    pairs = []
    for item, entry in zip(items, built.entries, strict=True):
        fields = entry.record if entry.record is not None else dict.fromkeys(PairRecord.fields())
        pairs.append(
            {"persona_id": item.persona.id, "prompt_id": item.prompt.id, "split": item.split}
            | {"topic": item.prompt.topic, "prompt": item.prompt.text, **fields, **models}
            | {"error": entry.error.model_dump() if entry.error is not None else None}
        )
    verification = (
        checked.rows(
            ready,
            lambda pair: {"persona_id": pair[0].persona.id, "prompt_id": pair[0].prompt.id},
            ("prefers_chosen", "picked_first"),
        )
        if checked is not None
        else []
    )
    metrics = pair_metrics(pairs, verification, spec.seed, personas)
    if spec.unseen is not None:
        sides = persona_splits(personas, spec.unseen, spec.seed, spec.stratify)
        pairs = [with_persona_split(row, sides) for row in pairs]
        metrics.persona_splits = split_counts(
            ((r["persona_id"], r["split"]) for r in pairs if r["error"] is None), sides
        )
    write_jsonl(run_dir / "personas.jsonl", (p.model_dump() for p in personas))
    write_jsonl(run_dir / "pairs.jsonl", pairs)
    write_jsonl(run_dir / "verification.jsonl", verification)
    manifest = session.finish(
        files=list(RESULT_FILES),
        metrics=metrics,
        report=render_report,
        failures={"pairs.jsonl": built.failed, "verification.jsonl": checked.failed if checked else 0},
    )
    return PairsResult(run_dir, pairs, manifest)


generate_pairs = PAIRS.entry("generate_pairs")


def _verify(spec: PairsSpec, lms: Mapping[str, Any]) -> Callable[[tuple[Item, dict[str, Any]]], dict[str, Any]]:
    """The judge, role-playing the persona, picks one side of a built pair shown in its seeded order."""
    from persona.programs.preferences import PreferenceAnnotator

    annotator = PreferenceAnnotator(lms["judge"], seed=spec.seed)

    def annotate(pair: tuple[Item, dict[str, Any]]) -> dict[str, Any]:
        item, record = pair
        verdict = annotator(
            key=item.key,
            question=item.prompt.text,
            persona=item.persona.as_prompt(),
            chosen=record["chosen"],
            rejected=record["rejected"],
        )
        return {k: verdict[k] for k in ("prefers_chosen", "picked_first", "chosen_shown_first", "reasoning")}

    return annotate


def _estimate(values: list[bool], seed: int) -> EstimateRecord:
    return EstimateRecord.of(pass_rate(values, confidence=0.95, resamples=1000, seed=seed))


@PAIRS.measures
class PairsMetrics(Metrics):
    """What a DPF dataset holds and how far a role-play annotator agrees with it."""

    pairs: dict[str, int] = Field(description="built pairs per split (train, test_seen, test_heldout)")
    pairs_failed: int
    shorter: EstimateRecord = Field(description="share of revisions shorter than their originals, in tokens")
    revision_retries: int = Field(description="revisions redrawn for not being shorter")
    agreement_with_chosen: EstimateRecord = Field(description="share of verifications preferring the chosen side")
    picked_first: EstimateRecord = Field(description="share picking the first-shown answer (0.5: no position bias)")
    verification_failed: int
    personas: NullAttributes = Field(description="the personas, and the attributes each left null")
    persona_splits: dict[str, dict[str, int]] | None = Field(
        default=None, description="personas and pairs per persona split, when the spec splits by persona"
    )


def pair_metrics(pairs: list[dict], verification: list[dict], seed: int, personas: list[Persona]) -> PairsMetrics:
    """Counts per split, the share of revisions shorter than their originals, and annotator agreement."""
    built = [p for p in pairs if p["error"] is None]
    judged = [v for v in verification if v["error"] is None]
    return PairsMetrics(
        pairs={split: sum(p["split"] == split for p in built) for split in SPLITS},
        pairs_failed=len(pairs) - len(built),
        shorter=_estimate([p["shorter"] for p in built], seed),
        revision_retries=sum(p["revision_attempts"] - 1 for p in built),
        agreement_with_chosen=_estimate([v["prefers_chosen"] for v in judged], seed),
        picked_first=_estimate([v["picked_first"] for v in judged], seed),
        verification_failed=len(verification) - len(judged),
        personas=null_attributes(personas),
    )


def render_report(manifest: Manifest) -> str:
    m = manifest.results(PairsMetrics)
    lines = [
        "# DPF preference pairs",
        "",
        null_line(m.personas),
        "",
        "Pairs per split: " + ", ".join(f"{split} {n}" for split, n in m.pairs.items()) + f"; {m.pairs_failed} failed.",
        *(
            ["", "Persona split (no persona on both sides): " + persona_split_line(m.persona_splits)]
            if m.persona_splits
            else []
        ),
        "",
        "| measure | value, 95% CI |",
        "|---|---|",
        *(
            f"| {label} | {format_estimate(getattr(m, key), with_n=True)} |"
            for label, key in (
                ("revision shorter than the original (tokens)", "shorter"),
                ("annotator prefers the chosen side (paper: 0.96)", "agreement_with_chosen"),
                ("annotator picks the first-shown answer (0.5 = no position bias)", "picked_first"),
            )
        ),
        "",
        f"{m.revision_retries} revisions were redrawn once for not being shorter; "
        f"{m.verification_failed} verifications failed.",
        "",
        *small_sample_note([m.shorter, m.agreement_with_chosen, m.picked_first]),
    ]
    return markdown(lines, manifest.cost_line())


@PAIRS.summarises
def _summary(result: PairsResult) -> list[Any]:
    m = result.manifest.results(PairsMetrics)
    counts = ", ".join(f"{n} {split}" for split, n in m.pairs.items())
    return [
        f"pairs: {counts}; {m.pairs_failed} failed (pairs.jsonl, verification.jsonl)",
        estimates_table(
            "DPF pairs", {"chosen shorter": m.shorter, "annotator agrees with chosen": m.agreement_with_chosen}
        ),
    ]
