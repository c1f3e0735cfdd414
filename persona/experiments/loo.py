"""Leave-one-out attribute influence (the paper's section 4.1 and Figure 5).

For each attribute a: ``pairs`` personas of ``base_size`` attributes drawn without a, and the same personas with a
added. As in the paper (``method = "refine"``), every question gets one persona-blind baseline answer, which
DPF's critique and revision refine for the pair's persona (with a); a role-play annotator then chooses between
baseline and refinement as each variant. ``method = "blind"`` instead offers two persona-blind answers. Cohen's
kappa between the two variants' choices, per pair, measures how much a moved the preferences.
The A/B order of a question is seeded per pair and question and is the same for both variants, so position bias
cannot masquerade as influence: an annotator that always says "A" scores kappa 1, no influence at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, NamedTuple

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field, field_validator, model_validator
from rich.table import Table

from persona.data.io import read_jsonl, write_jsonl
from persona.data.pairs import chosen_goes_first
from persona.data.persona import ATTRIBUTES, NullAttributes, Persona, null_attributes
from persona.errors import InputError
from persona.experiments.bench import (
    BenchInputs,
    write_results,
)
from persona.experiments.inputs import (
    POPULATION,
    PersonasInput,
    experiment_personas,
    load_split_prompts,
    read_personas_input,
    role_models,
)
from persona.experiments.population import population_role
from persona.lm.config import ModelConfig
from persona.lm.roles import Role
from persona.metrics import loo_kappas
from persona.reports.estimates import markdown
from persona.reports.figures import loo_plot, save_figure
from persona.reports.personas import null_line
from persona.runs.kinds import Kind
from persona.runs.manifest import Manifest, Metrics
from persona.runs.records import Record
from persona.runs.session import RunRecords, Session
from persona.runs.spec import model_slug

LOO_ROLES = ("responder", "annotator")  # writes the two answers per question; role-plays the personas
ANSWER_REDRAWS = 3


class LooSpec(BenchInputs):
    """Paper values: 40 pairs per attribute, 3 attributes per base persona, 20 questions."""

    kind: Literal["loo"] = "loo"
    n_personas: int = Field(default=200, gt=0, description="pool of census personas the pairs are drawn from")
    attributes: list[str] = Field(default_factory=list, description="attributes to leave out (default: all known)")
    pairs: int = Field(default=40, gt=0, description="persona pairs per attribute")
    base_size: int = Field(default=3, gt=0, description="attributes of a persona without the left-out one")
    questions: int = Field(default=20, gt=1, description="preference questions every persona answers")
    method: Literal["refine", "blind"] = Field(
        default="refine",
        description="refine (the paper's): choose between a baseline answer and its refinement for the pair's "
        "persona; blind: choose between two persona-blind answers",
    )
    answers: str = Field(
        default="generate", description="'generate', or (blind only) a JSONL of id, question, answer_a, answer_b"
    )
    temperature: float = Field(default=0.9, gt=0, le=2, description="blind: for drawing two answers per question")

    ROLES: ClassVar[dict[str, Role]] = {
        "annotator": Role(max_tokens=160),
        "responder": Role(200, like="annotator"),
        POPULATION: population_role("annotator"),
    }

    @field_validator("attributes")
    @classmethod
    def _known_attributes(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in ATTRIBUTES]
        if unknown:
            raise ValueError(f"unknown attributes {unknown}; the names are persona.data.ATTRIBUTES")
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _answers_file_is_blind(self) -> LooSpec:
        if self.answers != "generate" and self.method != "blind":
            raise ValueError("an answers file gives the two fixed answers of method = 'blind'; set method = 'blind'")
        return self

    def default_dir(self) -> Path:
        return Path("outputs") / f"loo-{model_slug(self.models['annotator'].model)}-seed{self.seed}"


LOO = Kind("loo", LooSpec, subject="annotator")


class PreferenceQuestion(NamedTuple):
    id: str
    question: str
    answers: tuple[str, str] | None  # None until generated

    @property
    def shown(self) -> tuple[str, str]:
        """Its two answers, once generated."""
        if self.answers is None:
            raise ValueError(f"question {self.id}: its answers were never generated")
        return self.answers


class Pair(NamedTuple):
    attribute: str
    index: int  # type: ignore[assignment]  # a field, where tuple has a method of that name
    persona: Persona
    base: tuple[str, ...]

    @property
    def key(self) -> tuple[str, int]:
        return self.attribute, self.index

    def text(self, variant: str) -> str:
        names = set(self.base) | ({self.attribute} if variant == "with" else set())
        return "\n".join(f"{name}: {self.persona.attributes[name]}" for name in ATTRIBUTES if name in names)


class TwoAnswers(Record):
    """Two distinct persona-blind answers to one question, for the variants of every pair to choose between."""

    answer_a: str
    answer_b: str


class Baseline(Record):
    """The persona-blind answer to one question that a pair's persona refines."""

    baseline: str


class Refinement(Record):
    """DPF's critique of the baseline for the pair's persona (with its attribute), and the revision it led to."""

    critique: str
    refined: str


class LooChoice(Record):
    """One variant's pick between a question's two answers: the answer shown first, the letter picked (A/B), and
    the answer that letter stands for."""

    shown_first: str
    picked: str
    choice: str
    reasoning: str


class Annotation(NamedTuple):
    pair: Pair
    variant: str
    question: PreferenceQuestion

    @property
    def key(self) -> str:
        return f"{self.pair.attribute}|{self.pair.index}|{self.variant}|{self.question.id}"


def plan_pairs(spec: LooSpec, personas: list[Persona]) -> tuple[list[str], list[Pair]]:
    """Pairs per attribute, seeded per (attribute, index): a persona that has the attribute, and base attributes
    drawn from the others it has. Like the paper, drawing only personas with the attribute filters the pool."""
    known = [{name for name, value in p.attributes.items() if value is not None} for p in personas]
    attributes = spec.attributes or [name for name in ATTRIBUTES if any(name in k for k in known)]
    pairs = []
    for a_index, attribute in enumerate(attributes):
        eligible = [i for i, names in enumerate(known) if attribute in names and len(names) > spec.base_size]
        if not eligible:
            raise InputError(
                f"no persona in the pool has {attribute!r} and {spec.base_size} other attributes; "
                "leave it out of --attributes or use a source that fills it"
            )
        for j in range(spec.pairs):
            rng = np.random.default_rng([spec.seed, 7, a_index, j])
            chosen = eligible[int(rng.integers(len(eligible)))]
            others = sorted(known[chosen] - {attribute}, key=ATTRIBUTES.index)
            base = tuple(others[i] for i in sorted(rng.choice(len(others), size=spec.base_size, replace=False)))
            pairs.append(Pair(attribute, j, personas[chosen], base))
    return attributes, pairs


def preference_questions(spec: LooSpec) -> list[PreferenceQuestion]:
    """Fixed preference questions: drawn from the prompt split (answers generated later) or read from a file."""
    if spec.answers != "generate":
        path = Path(spec.answers)
        rows = read_jsonl(path)
        for number, row in enumerate(rows, start=1):
            missing = {"id", "question", "answer_a", "answer_b"} - set(row)
            if missing:
                raise InputError(f"{path}: record {number} lacks {sorted(missing)}")
        return [PreferenceQuestion(str(r["id"]), r["question"], (r["answer_a"], r["answer_b"])) for r in rows]
    parts = load_split_prompts(spec.prompts, spec.seed)
    pool = parts["train"] + parts["heldout"] if spec.split == "all" else parts[spec.split]
    if spec.questions > len(pool):
        raise InputError(f"{spec.questions} preference questions, but the {spec.split} prompts number {len(pool)}")
    rng = np.random.default_rng([spec.seed, 6])
    return [
        PreferenceQuestion(pool[i].id, pool[i].text, None)
        for i in sorted(rng.choice(len(pool), spec.questions, replace=False))
    ]


@LOO.reads
def _inputs(spec: LooSpec) -> tuple[PersonasInput, list[PreferenceQuestion]]:
    return read_personas_input(spec), preference_questions(spec)


@LOO.needs
def _models(spec: LooSpec, inputs: tuple[PersonasInput, list[PreferenceQuestion]]) -> dict[str, ModelConfig]:
    return role_models(spec, LOO_ROLES if spec.answers == "generate" else LOO_ROLES[1:], inputs[0])


@LOO.runs
def _run(session: Session, spec: LooSpec, inputs: Any) -> RunRecords:
    """Generate the answers, annotate every pair's two variants, and report kappa per attribute."""
    source, questions = inputs
    run_dir = session.run_dir
    pool = experiment_personas(session, spec, source)
    attributes, pairs = plan_pairs(spec, pool)
    if spec.method == "refine":
        questions, refinements = _refined_answers(session, spec, questions, pairs)
    elif spec.answers == "generate":
        answered = session.stage(
            "answers", questions, key=lambda q: q.id, make_work=lambda lms: _two_answers(spec, lms), record=TwoAnswers
        )
        questions = [
            q._replace(answers=(record["answer_a"], record["answer_b"]))
            for q, e in zip(questions, answered.entries, strict=True)
            if (record := e.record) is not None
        ]
    asked = {pair.key: questions for pair in pairs} if spec.method == "blind" else refinements
    annotations = [
        Annotation(pair, variant, q) for pair in pairs for q in asked[pair.key] for variant in ("without", "with")
    ]
    annotated = session.stage(
        "loo",
        annotations,
        key=lambda a: a.key,
        make_work=lambda lms: _annotate(spec, lms),
        record=LooChoice,
        label="annotations",
    )
    records = annotated.rows(
        annotations,
        lambda a: {
            "attribute": a.pair.attribute,
            "pair": a.pair.index,
            "variant": a.variant,
            "persona_id": a.pair.persona.id,
            "persona": a.pair.text(a.variant),
            "item": a.question.id,
            "annotator": spec.models["annotator"].model,
        },
        ("shown_first", "picked", "choice", "reasoning"),
    )
    files = write_results(run_dir, "loo", records)
    shown = questions if spec.method == "blind" else [q for pair in pairs for q in refinements[pair.key]]
    write_jsonl(
        run_dir / "questions.jsonl",
        ({"id": q.id, "question": q.question, "answer_a": q.shown[0], "answer_b": q.shown[1]} for q in shown),
    )
    metrics = loo_metrics(records, attributes, pool)
    save_figure(
        loo_plot(kappas_by_attribute(metrics)),
        run_dir / "loo.png",
    )
    files += ["questions.jsonl", "loo.png"]
    return RunRecords(run_dir, records, session.finish(files=files, metrics=metrics, report=render_loo_report))


run_loo = LOO.entry("run_loo")


def _two_answers(spec: LooSpec, lms: Mapping[str, Any]) -> Callable[[PreferenceQuestion], dict[str, Any]]:
    """Two distinct persona-blind answers per question, at ``temperature``, redrawn while they coincide."""
    from persona.programs.bench import PersonalizedResponder

    responder = PersonalizedResponder(lms["responder"], "baseline")

    def answer(question: PreferenceQuestion) -> dict[str, Any]:
        drawn: list[str] = []
        for rollout in range(2 + ANSWER_REDRAWS):
            config = {"rollout_id": rollout, "temperature": spec.temperature, "seed": rollout}
            text = responder(question=question.question, persona="", config=config).answer
            if text not in drawn:
                drawn.append(text)
            if len(drawn) == 2:
                return {"answer_a": drawn[0], "answer_b": drawn[1]}
        raise ValueError(f"question {question.id}: {2 + ANSWER_REDRAWS} draws gave fewer than two answers")

    return answer


def _annotate(spec: LooSpec, lms: Mapping[str, Any]) -> Callable[[Annotation], dict[str, Any]]:
    """One variant of a pair chooses between a question's two answers, shown in the pair's seeded order."""
    from persona.programs.bench import RolePlayAnnotator

    annotator = RolePlayAnnotator(lms["annotator"])

    def annotate(item: Annotation) -> dict[str, Any]:
        first, second = item.question.answers  # type: ignore[misc]
        original_first = chosen_goes_first(spec.seed, f"{item.pair.attribute}|{item.pair.index}|{item.question.id}")
        shown = (first, second) if original_first else (second, first)
        verdict = annotator(
            persona=item.pair.text(item.variant),
            question=item.question.question,
            answer_a=shown[0],
            answer_b=shown[1],
        )
        picked_shown_first = verdict.choice == "A"
        return {
            "shown_first": "answer_a" if original_first else "answer_b",
            "picked": verdict.choice,
            "choice": "answer_a" if picked_shown_first == original_first else "answer_b",
            "reasoning": verdict.reasoning,
        }

    return annotate


def _refined_answers(
    session: Session, spec: LooSpec, questions: list[PreferenceQuestion], pairs: list[Pair]
) -> tuple[list[PreferenceQuestion], dict[tuple[str, int], list[PreferenceQuestion]]]:
    """The paper's inputs: one persona-blind baseline answer per question, refined for each pair's persona (with
    the attribute) by DPF's critique and revision; per pair, each question offers baseline (answer_a) and
    refinement (answer_b), and both variants of the pair choose between the same two."""

    def make_answer(lms: Mapping[str, Any]) -> Callable[[PreferenceQuestion], dict[str, Any]]:
        from persona.programs.bench import PersonalizedResponder

        responder = PersonalizedResponder(lms["responder"], "baseline")
        return lambda q: {"baseline": responder(question=q.question, persona="").answer}

    answered = session.stage("answers", questions, key=lambda q: q.id, make_work=make_answer, record=Baseline)
    baselines = [
        q._replace(answers=(record["baseline"], ""))
        for q, e in zip(questions, answered.entries, strict=True)
        if (record := e.record) is not None
    ]
    tasks = [(pair, q) for pair in pairs for q in baselines]

    def make_refine(lms: Mapping[str, Any]) -> Callable[[tuple[Pair, PreferenceQuestion]], dict[str, Any]]:
        from persona.programs.preferences import PersonaRefinement

        refine = PersonaRefinement(lms["responder"], lms["responder"])

        def work(task: tuple[Pair, PreferenceQuestion]) -> dict[str, Any]:
            pair, question = task
            refined = refine(question=question.question, answer=question.shown[0], persona=pair.text("with"))
            return {"critique": refined.critique, "refined": refined.revision}

        return work

    stage = session.stage(
        "refine",
        tasks,
        key=lambda t: f"{t[0].attribute}|{t[0].index}|{t[1].id}",
        make_work=make_refine,
        record=Refinement,
        label="refinements",
    )
    refinements: dict[tuple[str, int], list[PreferenceQuestion]] = {pair.key: [] for pair in pairs}
    for (pair, question), entry in zip(tasks, stage.entries, strict=True):
        if entry.record is not None:
            refined = question._replace(answers=(question.shown[0], entry.record["refined"]))
            refinements[pair.key].append(refined._replace(id=f"{pair.attribute}|{pair.index}|{question.id}"))
    return baselines, refinements


class KappaSummary(BaseModel):
    """The distribution of one attribute's per-pair kappas (undefined kappas counted, not summarised)."""

    pairs: int
    defined: int = Field(description="pairs whose kappa is defined")
    median: float | None
    q1: float | None
    q3: float | None
    mean: float | None


class PairKappa(BaseModel):
    attribute: str
    pair: int
    kappa: float | None = Field(description="None when both variants made one and the same choice throughout")


@LOO.measures
class LooMetrics(Metrics):
    """Leave-one-out influence (Figure 5): kappa per pair and its distribution per attribute."""

    attributes: dict[str, KappaSummary]
    kappas: list[PairKappa]
    failed_annotations: int
    picked_a: float | None = Field(description="share of picks for the first-shown answer (position bias)")
    personas: NullAttributes = Field(description="the pool the pairs were drawn from, and its null attributes")


def loo_metrics(records: list[dict[str, Any]], attributes: list[str], pool: list[Persona]) -> LooMetrics:
    """Kappa per pair (matched by attribute and pair label) and its distribution per attribute."""
    done = pd.DataFrame(
        [r for r in records if r["error"] is None], columns=["attribute", "pair", "variant", "item", "choice"]
    )
    kappas = loo_kappas(done)
    summary = {}
    for attribute in attributes:
        values = kappas.loc[kappas["attribute"] == attribute, "kappa"].to_numpy(dtype=float)
        defined = values[np.isfinite(values)]
        quartiles = np.percentile(defined, [25, 50, 75]).tolist() if defined.size else [None] * 3
        summary[attribute] = KappaSummary(
            pairs=int(values.size),
            defined=int(defined.size),
            median=quartiles[1],
            q1=quartiles[0],
            q3=quartiles[2],
            mean=float(defined.mean()) if defined.size else None,
        )
    picks = [r["picked"] == "A" for r in records if r["error"] is None]
    return LooMetrics(
        attributes=summary,
        kappas=kappas.astype(object).where(kappas.notna(), None).to_dict("records"),
        failed_annotations=sum(r["error"] is not None for r in records),
        picked_a=float(np.mean(picks)) if picks else None,
        personas=null_attributes(pool),
    )


def kappas_by_attribute(metrics: LooMetrics) -> dict[str, list[float]]:
    """Each attribute with its own pairs' kappas (undefined ones as NaN), keyed so labels cannot drift."""
    return {
        attribute: [np.nan if r.kappa is None else r.kappa for r in metrics.kappas if r.attribute == attribute]
        for attribute in metrics.attributes
    }


@LOO.reports
def render_loo_report(manifest: Manifest) -> str:
    spec, m = manifest.spec, manifest.results(LooMetrics)
    fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
    lines = [
        f"# Leave-one-out attribute influence: annotator `{manifest.models['annotator'].model}`",
        "",
        f"{spec['pairs']} pairs per attribute; each pair is a persona of {spec['base_size']} attributes without the "
        f"attribute and the same persona with it, answering the same {spec['questions']} preference questions. "
        + (
            "Each question's persona-blind baseline answer is refined for the pair's persona (with the attribute) by "
            "critique and revision; both variants choose between baseline and refinement. "
            if spec.get("method", "blind") == "refine"
            else "Both variants choose between two persona-blind answers. "
        )
        + "Kappa is computed per pair between the two variants' choices; lower kappa = more influence. Kappa is "
        "undefined when both variants give one and the same choice throughout.",
        "",
        f"Pool: {null_line(m.personas)}",
        "",
        "| attribute | pairs | kappa defined | median | IQR | mean |",
        "|---|---|---|---|---|---|",
        *(
            f"| {a} | {s.pairs} | {s.defined} | {fmt(s.median)} | [{fmt(s.q1)}, {fmt(s.q3)}] | {fmt(s.mean)} |"
            for a, s in sorted(m.attributes.items(), key=lambda kv: (kv[1].median is None, kv[1].median or 0))
        ),
        "",
        f"{m.failed_annotations} annotations failed. Share of picks for the first-shown answer: {fmt(m.picked_a)}.",
        "",
        "![LOO kappa per attribute](loo.png)",
        "",
    ]
    return markdown(lines, manifest.calls_line())


@LOO.summarises
def _summary(result: RunRecords) -> list[Any]:
    table = Table(title="kappa per pair, without vs with the attribute")
    for column in ("attribute", "pairs", "defined", "median", "mean"):
        table.add_column(column)
    for name, row in result.manifest.results(LooMetrics).attributes.items():
        shown = ["n/a" if v is None else f"{v:.3f}" for v in (row.median, row.mean)]
        table.add_row(name, str(row.pairs), str(row.defined), *shown)
    return [table]


@LOO.draws
def _plots(manifest: Manifest, out: Path) -> list[str]:
    save_figure(loo_plot(kappas_by_attribute(manifest.results(LooMetrics))), out / "loo.png")
    return ["loo.png"]
