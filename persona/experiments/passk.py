"""PERSONA Bench pass@k: n independent answers per (persona, question), each judged on its own, k = 1..k_max.

Draw s of an item runs at ``temperature`` with rollout id and seed s, so every sample is a separate request (and a
separate cache entry); the unbiased estimator then uses the n judged samples and their c passes. A sample whose
judge output never parsed is left out of its item's n and counted in the report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field, model_validator

from persona.data.io import write_jsonl
from persona.data.persona import NullAttributes, Persona, null_attributes
from persona.data.prompts import Prompt
from persona.experiments.bench import (
    BenchInputs,
    Histories,
    asked_questions,
    history_shown,
    read_with_histories,
    responder_entry,
    responder_fingerprint,
    tested_and_judge,
    write_results,
)
from persona.experiments.inputs import SAMPLE_FIELDS, JudgedSamples, PersonasInput, judged_samples, traced_row
from persona.metrics import pass_at_k_curve
from persona.plugins import is_import_path
from persona.programs.responders import load_responder
from persona.reports.estimates import markdown
from persona.reports.figures import passk_plot, save_figure
from persona.reports.judging import judge_note
from persona.reports.personas import null_line
from persona.runs.kinds import Kind
from persona.runs.manifest import Manifest, Metrics
from persona.runs.session import RunRecords, Session
from persona.runs.spec import model_slug


class PassKSpec(BenchInputs):
    """pass@k over ``n_personas`` x ``questions`` items. Acceptance size: 10 items, 8 samples."""

    kind: Literal["passk"] = "passk"
    n_personas: int = Field(default=10, gt=0, description="personas made when `personas` is a census source")
    questions: int = Field(default=1, gt=0, description="questions per persona")
    mode: str = Field(
        default="cot",
        validation_alias=AliasChoices("mode", "responder"),
        description="the responder: a built-in mode (the paper's: cot), history@k (with `history`), or yours as "
        "'package.module:Name'",
    )
    samples: int = Field(default=16, gt=0, description="n: independent answers per item")
    k_max: int = Field(default=16, gt=0, description="largest k reported (at most n)")
    temperature: float = Field(default=0.7, gt=0, le=2, description="sampling temperature of the model under test")
    history: str | None = Field(
        default=None, description="a pairs run dir whose train pairs are each persona's history (mode history@k)"
    )
    ADDED_LATER = ("history",)

    @model_validator(mode="after")
    def _k_within_n(self) -> PassKSpec:
        history_shown([self.mode], self.history)
        load_responder(self.mode)  # an unknown mode or a plug-in that does not import is named here
        if self.k_max > self.samples:
            raise ValueError(f"k_max={self.k_max} needs at least as many samples per item (samples={self.samples})")
        return self

    def fingerprint(self) -> str:
        return responder_fingerprint(super().fingerprint(), self.mode)

    def default_dir(self) -> Path:
        return Path("outputs") / f"passk-{model_slug(self.models['responder'].model)}-seed{self.seed}"


PASSK = Kind("passk", PassKSpec, subject="responder")


PASSK.needs(tested_and_judge)


@PASSK.reads
def _read(spec: PassKSpec) -> tuple[PersonasInput, list[Prompt], Histories]:
    return read_with_histories(spec, [spec.mode], spec.history)


@PASSK.runs
def _run(session: Session, spec: PassKSpec, inputs: Any) -> RunRecords:
    """Draw n answers per item, judge each, and report the pass@k curve."""
    run_dir = session.run_dir
    source, pool, histories = inputs
    personas, questions = asked_questions(session, spec, (source, pool))
    stage = session.stage(
        "passk",
        questions,
        key=lambda question: question.key,
        make_work=lambda lms: judged_samples(lms, "responder", spec.mode, spec.samples, spec.temperature, histories),
        record=JudgedSamples,
        label="pass@k samples",
    )
    models = {"mode": spec.mode, "responder": spec.models["responder"].model, "judge": spec.models["judge"].model}
    traced = is_import_path(spec.mode)  # a plug-in's trace gets a column
    records = stage.rows(
        questions,
        lambda q: {"persona_id": q.persona.id, "prompt_id": q.prompt.id, "question": q.prompt.text} | models,
        (*SAMPLE_FIELDS, "trace") if traced else SAMPLE_FIELDS,
        expand=lambda record: [traced_row(sample, traced) for sample in record["samples"]],
    )
    write_jsonl(run_dir / "personas.jsonl", (p.model_dump() for p in personas))
    files = ["personas.jsonl", *write_results(run_dir, "passk", records)]
    metrics = passk_metrics(records, spec.k_max, personas)
    save_figure(passk_plot({f"{spec.models['responder'].model} ({spec.mode})": metrics.curve}), run_dir / "passk.png")
    manifest = session.finish(
        files=[*files, "passk.png"],
        metrics=metrics,
        report=render_passk_report,
    )
    return RunRecords(run_dir, records, manifest)


run_passk = responder_entry(PASSK, "run_passk", lambda spec, path: {"mode": path})


class ItemCount(BaseModel):
    """One item's judged samples and passes: the n and c of the estimator."""

    n: int
    c: int


@PASSK.measures
class PassKMetrics(Metrics):
    """The pass@k curve (Figure 12) and what it was estimated from."""

    curve: dict[int, float | None] = Field(description="pass@k for k = 1..k_max (None: no judged item)")
    items: dict[str, ItemCount] = Field(description="'persona_id|prompt_id' -> judged samples and passes")
    failed_items: int
    judge_failures: int = Field(description="samples whose judge output never parsed (left out of n)")
    distinct_answers: dict[str, int] = Field(description="distinct answer texts per item (1: sampling did nothing)")
    personas: NullAttributes = Field(description="the personas, and the attributes each left null")


def passk_metrics(records: list[dict[str, Any]], k_max: int, personas: list[Persona]) -> PassKMetrics:
    """The pass@k curve from judged samples only, with per-item n and c so the estimate can be checked by hand."""
    items: dict[str, list[bool]] = {}
    for record in records:
        if record["error"] is None:
            items.setdefault(f"{record['persona_id']}|{record['prompt_id']}", [])
            if record["passed"] is not None:
                items[f"{record['persona_id']}|{record['prompt_id']}"].append(record["passed"])
    curve = pass_at_k_curve(items.values(), range(1, k_max + 1))
    return PassKMetrics(
        curve={k: (None if v != v else v) for k, v in curve.items()},
        items={key: ItemCount(n=len(s), c=int(sum(s))) for key, s in items.items()},
        failed_items=sum(r["error"] is not None for r in records),
        judge_failures=sum(r["error"] is None and r["judge_error"] is not None for r in records),
        distinct_answers={
            key: len({r["answer"] for r in records if f"{r['persona_id']}|{r['prompt_id']}" == key}) for key in items
        },
        personas=null_attributes(personas),
    )


@PASSK.reports
def render_passk_report(manifest: Manifest) -> str:
    spec, m = manifest.spec, manifest.results(PassKMetrics)
    lines = [
        f"# PERSONA Bench pass@k: `{manifest.models['responder'].model}` ({spec['mode']})",
        "",
        f"{len(m.items)} items, n = {spec['samples']} samples each at temperature {spec['temperature']}, "
        f"judge `{manifest.models['judge'].model}`. Each sample is judged on its own; pass@k is the unbiased "
        "estimator 1 - C(n-c, k)/C(n, k), averaged over items.",
        "",
        null_line(m.personas),
        "",
        *judge_note(manifest),
        "| k | pass@k |",
        "|---|---|",
        *(f"| {k} | {'n/a' if v is None else f'{v:.3f}'} |" for k, v in m.curve.items()),
        "",
        "| persona | prompt | judged samples n | passes c | distinct answers |",
        "|---|---|---|---|---|",
        *(f"| {key.replace('|', ' | ')} | {v.n} | {v.c} | {m.distinct_answers[key]} |" for key, v in m.items.items()),
        "",
        f"{m.failed_items} items failed; {m.judge_failures} unparseable judge outputs were left out of n.",
        "",
        "![pass@k](passk.png)",
        "",
    ]
    return markdown(lines, manifest.calls_line())


@PASSK.summarises
def _summary(result: RunRecords) -> list[str]:
    curve = result.manifest.results(PassKMetrics).curve
    return ["pass@k: " + ", ".join(f"k={k} {v:.3f}" for k, v in curve.items() if v is not None)]


@PASSK.draws
def _plots(manifest: Manifest, out: Path) -> list[str]:
    curve = {k: v for k, v in manifest.results(PassKMetrics).curve.items() if v is not None}
    label = f"{manifest.models['responder'].model} ({manifest.spec['mode']})"
    save_figure(passk_plot({label: curve}), out / "passk.png")
    return ["passk.png"]
