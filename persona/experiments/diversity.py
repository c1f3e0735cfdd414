"""Preference diversity: does a population disagree at all? A pluralistic test-bed whose personas all prefer the
same answers tests nothing pluralistic.

For a sample of questions with two fixed answers, the role-play annotator chooses as each of a sample of personas
(each question shown in a seeded order per persona, so a position bias cannot pass for agreement). The report gives
the persona x persona kappa matrix (as the paper's inter-persona figure), the mean pairwise agreement, the share of
questions on which the personas split at least ``min_split`` (30/70 by default), and flags the population as
homogeneous when too few questions split it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
from pydantic import Field

from persona.data.io import read_jsonl, write_jsonl
from persona.data.pairs import chosen_goes_first
from persona.data.persona import Persona
from persona.data.population import load_personas
from persona.errors import InputError
from persona.lm.config import ModelConfig
from persona.lm.roles import Role
from persona.metrics.agreement import kappa_matrix, preference_diversity
from persona.reports.estimates import format_number, markdown
from persona.reports.figures import kappa_heatmap, save_figure
from persona.runs.kinds import Kind
from persona.runs.manifest import Manifest, Metrics
from persona.runs.records import Record
from persona.runs.session import RunRecords, Session
from persona.runs.spec import OneModelSpec, model_slug


class DiversitySpec(OneModelSpec):
    """Role-play choices of many personas on the same questions, to measure how much they disagree."""

    MODEL_ROLE = Role(max_tokens=160)  # a choice and a sentence of reasoning

    personas: str = Field(description="a personas.jsonl or its run dir (generated, imported, split), or draw:SOURCE")
    items: str = Field(
        description="JSONL of id, question, answer_a, answer_b; or a pairs run dir (per prompt: its generic answer "
        "against one persona's revision)"
    )
    n_personas: int = Field(default=20, ge=2, description="personas sampled (seeded) from the population")
    n_items: int = Field(default=20, gt=0, description="questions sampled (seeded)")
    min_split: float = Field(default=0.3, gt=0, le=0.5, description="minority share that counts as a split")
    homogeneous_below: float = Field(
        default=0.2, ge=0, le=1, description="flag the population when fewer questions than this share split it"
    )
    min_age: int = Field(default=18, ge=0, description="for draw:SOURCE: people at least this old")
    kind: Literal["diversity"] = "diversity"

    def default_dir(self) -> Path:
        return Path("outputs") / f"diversity-{model_slug(self.model.model)}-seed{self.seed}"


DIVERSITY = Kind("diversity", DiversitySpec, subject="annotator")


class Item(NamedTuple):
    id: str
    question: str
    answer_a: str
    answer_b: str


class Task(NamedTuple):
    persona: Persona
    item: Item

    @property
    def key(self) -> str:
        return f"{self.persona.id}|{self.item.id}"


def _items(path: Path, seed: int) -> list[Item]:
    if path.is_dir():
        if not (path / "pairs.jsonl").is_file():
            raise InputError(f"{path}: no pairs.jsonl; give a pairs run dir or a questions JSONL")
        first: dict[str, dict] = {}
        for row in read_jsonl(path / "pairs.jsonl"):
            if row.get("error") is None:
                first.setdefault(row["prompt_id"], row)
        return [Item(pid, r["prompt"], r["rejected"], r["chosen"]) for pid, r in first.items()]
    rows = read_jsonl(path)
    for number, row in enumerate(rows, start=1):
        missing = {"id", "question", "answer_a", "answer_b"} - set(row)
        if missing:
            raise InputError(f"{path}: record {number} lacks {sorted(missing)}")
    return [Item(str(r["id"]), r["question"], r["answer_a"], r["answer_b"]) for r in rows]


def _sample(values: list, n: int, seed: int, stream: int) -> list:
    if len(values) <= n:
        return values
    return [values[i] for i in sorted(np.random.default_rng([seed, stream]).choice(len(values), n, replace=False))]


@DIVERSITY.reads
def _tasks(spec: DiversitySpec) -> list[Task]:
    """Every sampled persona on every sampled question: read before any run dir exists."""
    population = load_personas(spec.personas, spec.n_personas, spec.seed, spec.min_age)
    personas = _sample(sorted(population, key=lambda p: p.id), spec.n_personas, spec.seed, 27)
    if len(personas) < 2:
        raise InputError(f"{spec.personas}: {len(personas)} persona; diversity needs two or more")
    items = _sample(_items(Path(spec.items), spec.seed), spec.n_items, spec.seed, 28)
    if not items:
        raise InputError(f"{spec.items}: no questions")
    return [Task(persona, item) for item in items for persona in personas]


@DIVERSITY.needs
def _models(spec: DiversitySpec, tasks: list[Task]) -> dict[str, ModelConfig]:
    return {"annotator": spec.model}


class DiversityChoice(Record):
    """One persona's pick between a question's two answers: which answer (``answer_a`` / ``answer_b``), the letter
    it was shown under, and why."""

    choice: Literal["answer_a", "answer_b"]
    picked: str
    reasoning: str


def _choose(seed: int) -> Callable[[Mapping[str, Any]], Callable[[Task], DiversityChoice]]:
    def make(lms: Mapping[str, Any]) -> Callable[[Task], DiversityChoice]:
        from persona.programs.bench import RolePlayAnnotator

        annotator = RolePlayAnnotator(lms["annotator"])

        def work(task: Task) -> DiversityChoice:
            a_first = chosen_goes_first(seed, task.key)
            shown = (task.item.answer_a, task.item.answer_b) if a_first else (task.item.answer_b, task.item.answer_a)
            verdict = annotator(
                persona=task.persona.as_prompt(), question=task.item.question, answer_a=shown[0], answer_b=shown[1]
            )
            first = verdict.choice == "A"
            return DiversityChoice(
                choice="answer_a" if first == a_first else "answer_b",
                picked=verdict.choice,
                reasoning=verdict.reasoning,
            )

        return work

    return make


@DIVERSITY.measures
class DiversityMetrics(Metrics):
    """How much the sampled personas disagree."""

    personas: int
    items: int
    failed: int
    split_share: float | None = Field(description="share of questions whose minority answer reaches min_split")
    mean_agreement: float | None = Field(description="mean share of questions two personas answer alike")
    mean_kappa: float | None = Field(description="mean Cohen's kappa over persona pairs where it is defined")
    homogeneous: bool = Field(description="split_share below homogeneous_below")
    shares: dict[str, float] = Field(description="question id -> share of personas choosing answer_a")
    kappa: dict[str, dict[str, float | None]] = Field(description="persona x persona Cohen's kappa")


@DIVERSITY.runs
def _run(session: Session, spec: DiversitySpec, tasks: list[Task]) -> RunRecords:
    stage = session.stage(
        "choices", tasks, key=lambda task: task.key, make_work=_choose(spec.seed), record=DiversityChoice
    )
    records = stage.rows(
        tasks,
        lambda t: {"persona_id": t.persona.id, "item_id": t.item.id, "question": t.item.question},
        DiversityChoice.fields(),
    )
    write_jsonl(session.run_dir / "choices.jsonl", records)
    done = pd.DataFrame([r for r in records if r["error"] is None], columns=["persona_id", "item_id", "choice"])
    choices = done.rename(columns={"persona_id": "persona", "item_id": "item"})
    summary = preference_diversity(choices, spec.min_split, "answer_a")
    matrix = kappa_matrix(done.rename(columns={"persona_id": "annotator", "item_id": "item"}))
    pairs = [matrix.iat[i, j] for i in range(len(matrix)) for j in range(i + 1, len(matrix))]
    defined = [v for v in pairs if np.isfinite(v)]
    split = summary["split_share"]
    metrics = DiversityMetrics(
        personas=len({t.persona.id for t in tasks}),
        items=len({t.item.id for t in tasks}),
        failed=stage.failed,
        split_share=None if np.isnan(split) else split,
        mean_agreement=None if np.isnan(summary["mean_agreement"]) else summary["mean_agreement"],
        mean_kappa=float(np.mean(defined)) if defined else None,
        homogeneous=bool(np.isnan(split) or split < spec.homogeneous_below),
        shares=summary["shares"],
        kappa={a: {b: (None if np.isnan(v) else float(v)) for b, v in row.items()} for a, row in matrix.iterrows()},
    )
    files = ["choices.jsonl", *_draw(metrics, session.run_dir)]
    manifest = session.finish(files=files, metrics=metrics, report=render_diversity_report)
    return RunRecords(session.run_dir, records, manifest)


run_diversity = DIVERSITY.entry("run_diversity")


@DIVERSITY.draws
def _plots(manifest: Manifest, out: Path) -> list[str]:
    return _draw(manifest.results(DiversityMetrics), out)


def _draw(metrics: DiversityMetrics, out: Path) -> list[str]:
    if not metrics.kappa:
        return []
    matrix = pd.DataFrame(metrics.kappa).astype(float)
    save_figure(kappa_heatmap(matrix, "Cohen's kappa between personas"), out / "kappa.png")
    return ["kappa.png"]


@DIVERSITY.reports
def render_diversity_report(manifest: Manifest) -> str:
    spec, m = manifest.spec, manifest.results(DiversityMetrics)
    verdict = (
        f"**Homogeneous**: fewer than {spec['homogeneous_below']:.0%} of the questions split these personas; a "
        "pluralistic evaluation on them would measure little."
        if m.homogeneous
        else f"Not homogeneous: {format_number(m.split_share)} of the questions split the personas."
    )
    lines = [
        f"# Preference diversity: `{manifest.models['annotator'].model}` as {m.personas} personas",
        "",
        f"{m.items} questions x {m.personas} personas, each shown its two answers in a seeded order; "
        f"{m.failed} choices failed.",
        "",
        verdict,
        "",
        "| measure | value |",
        "|---|---|",
        f"| questions split at least {spec['min_split']:.0%} / {1 - spec['min_split']:.0%} "
        f"| {format_number(m.split_share)} |",
        f"| mean pairwise agreement (1: one mind) | {format_number(m.mean_agreement)} |",
        f"| mean pairwise Cohen's kappa | {format_number(m.mean_kappa)} |",
        "",
        "| question | share choosing answer_a |",
        "|---|---|",
        *(f"| {item} | {share:.2f} |" for item, share in m.shares.items()),
        "",
        "![kappa between personas](kappa.png)",
        "",
    ]
    return markdown(lines, manifest.calls_line())


@DIVERSITY.summarises
def _summary(result: RunRecords) -> list[str]:
    m = result.manifest.results(DiversityMetrics)
    flag = "[red]homogeneous[/]" if m.homogeneous else "diverse"
    split, agreement = format_number(m.split_share), format_number(m.mean_agreement)
    return [f"{flag}: {split} of questions split the personas; agreement {agreement}"]
