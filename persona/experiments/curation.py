"""Curate a prompt set into a run dir: rules, de-duplication, LM controversiality and topics, stratified split.

Every prompt read ends up in exactly one of ``prompts.jsonl`` (kept, with topic, split and the classifier's
reason) or ``dropped.jsonl`` (with the step and reason that dropped it); ``curation.md`` counts each step.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import Field

from persona.data.filters import PAPER_SPLIT, apply_rules, stratified_split
from persona.data.io import atomic_write_text, write_jsonl
from persona.data.prompts import Prompt, load_embedded_prompts, load_prompts
from persona.lm.config import ModelConfig
from persona.lm.roles import Role
from persona.reports.figures import topic_plot
from persona.runs.executor import Outcome
from persona.runs.kinds import Kind
from persona.runs.manifest import Manifest, Metrics
from persona.runs.records import Record
from persona.runs.session import Session
from persona.runs.spec import EXECUTION, OneModelSpec, spec_fingerprint

RESULT_FILES = ("prompts.jsonl", "dropped.jsonl", "curation.md")


class CurationSpec(OneModelSpec):
    """Everything a curated prompt set depends on."""

    MODEL_ROLE = Role(max_tokens=96)  # a label and a topic

    source: str = Field(default="embedded", description="'embedded', 'prism', or a JSONL/CSV/Parquet path")
    column: str = Field(default="text", description="the text column of a file source")
    train: int = Field(default=PAPER_SPLIT[0], gt=0, description="train part of the train:held-out ratio")
    heldout: int = Field(default=PAPER_SPLIT[1], gt=0, description="held-out part of the ratio")
    classify: bool = Field(default=True, description="LM controversiality check (and topics for unlabelled)")
    limit: int | None = Field(default=None, gt=0, description="curate only the first this many prompts read")
    kind: Literal["curation"] = "curation"

    def fingerprint(self) -> str:
        unused = {"limit"} if self.limit is None else set()  # so run dirs from before `limit` keep their fingerprint
        return spec_fingerprint(self, ignore=EXECUTION | unused)

    def default_dir(self) -> Path:
        name = self.source if self.source in ("embedded", "prism") else Path(self.source).stem
        return Path("outputs") / f"prompts-{name}-seed{self.seed}"


CURATION = Kind("curation", CurationSpec)


@CURATION.measures
class CurationMetrics(Metrics):
    """Prompts left after each curation step (Figure 3) and the split."""

    counts: dict[str, int] = Field(description="prompts remaining after each step, in order")
    dropped_by_step: dict[str, int]
    train: int
    heldout: int
    controls: dict[str, int] | None = Field(
        default=None,
        description="labelled prompts the classifier judged, and how many it kept, per label (value-laden, factual)",
    )


class CurationResult(NamedTuple):
    run_dir: Path
    kept: list[dict[str, Any]]
    dropped: list[dict[str, Any]]
    manifest: Manifest


@CURATION.reads
def _inputs(spec: CurationSpec) -> list[Prompt]:
    return load_prompts(spec.source, spec.column)[: spec.limit]


@CURATION.needs
def _models(spec: CurationSpec, prompts: list[Prompt]) -> dict[str, ModelConfig]:
    return {"judge": spec.model} if spec.classify else {}


class Classification(Record):
    """The judge's verdict on one prompt: do people disagree on it, why, and its topic (labelled by whom)."""

    diverse_opinions: bool
    reason: str
    topic: str
    topic_by: str


def _classify(topics: list[str], lms: Mapping[str, Any]) -> Callable[[Prompt], dict[str, Any]]:
    """The judge decides whether people disagree on a prompt, and which topic it belongs to."""
    from persona.programs.curation import PromptClassifier

    classifier = PromptClassifier(lms["judge"], topics=topics)

    def work(prompt: Prompt) -> dict[str, Any]:
        result = classifier(prompt=prompt)
        return {k: result[k] for k in ("diverse_opinions", "reason", "topic", "topic_by")}

    return work


@CURATION.runs
def _run(session: Session, spec: CurationSpec, inputs: Any) -> CurationResult:
    """Filter, de-duplicate, classify and split the prompts of ``spec``."""
    prompts = inputs
    run_dir = session.run_dir
    ruled, dropped = apply_rules(prompts)
    for record in dropped:
        record["step"] = "rules"
    counts = {"read": len(prompts), "after rules and de-duplication": len(ruled)}
    verdicts: dict[str, Outcome] = {}
    if spec.classify:
        topics = sorted({p.topic for p in load_embedded_prompts() if p.topic})
        stage = session.stage(
            "classify", ruled, key=lambda p: p.id, make_work=lambda lms: _classify(topics, lms), record=Classification
        )
        verdicts = {p.id: entry for p, entry in zip(ruled, stage.entries, strict=True)}

    kept: list[Prompt] = []
    notes: dict[str, dict[str, Any]] = {}
    for prompt in ruled:
        entry = verdicts.get(prompt.id)
        if entry is None:
            kept.append(prompt)
            notes[prompt.id] = {"reason": None, "topic_by": "source" if prompt.topic else None}
        elif (verdict := entry.record) is None:
            reason = (
                f"classifier failed: {entry.error.type}: {entry.error.message}" if entry.error else "classifier failed"
            )
            dropped.append({"id": prompt.id, "text": prompt.text, "reason": reason, "step": "classifier"})
        elif not verdict["diverse_opinions"]:
            reason = f"not controversial: {verdict['reason']}"
            dropped.append({"id": prompt.id, "text": prompt.text, "reason": reason, "step": "classifier"})
        else:
            kept.append(prompt.model_copy(update={"topic": verdict["topic"]}))
            notes[prompt.id] = {"reason": verdict["reason"], "topic_by": verdict["topic_by"]}
    if spec.classify:
        counts["after controversiality"] = len(kept)
    split = stratified_split(kept, (spec.train, spec.heldout), spec.seed)
    rows = [
        {"id": p.id, "topic": p.topic, "split": split[p.id], "text": p.text, "kind": p.kind, **notes[p.id]}
        for p in kept
    ]
    write_jsonl(run_dir / "prompts.jsonl", rows)
    write_jsonl(run_dir / "dropped.jsonl", dropped)
    by_topic = Counter((r["topic"] or "unlabelled", r["split"]) for r in rows)
    topic_plot(by_topic, run_dir / "topics.png")
    controls = label_controls(ruled, verdicts) if spec.classify else None
    curation_md = render_curation(spec, counts, rows, dropped, by_topic, controls)
    atomic_write_text(run_dir / "curation.md", curation_md)

    metrics = CurationMetrics(
        counts=counts,
        dropped_by_step=dict(Counter(d["step"] for d in dropped)),
        train=sum(r["split"] == "train" for r in rows),
        heldout=sum(r["split"] == "heldout" for r in rows),
        controls=controls,
    )
    manifest = session.finish(
        files=list(RESULT_FILES),
        metrics=metrics,
        report=lambda manifest: f"{curation_md}\n{manifest.cost_line()}\n",
        failures={"prompts.jsonl": sum(d["reason"].startswith("classifier failed") for d in dropped)},
    )
    return CurationResult(run_dir, rows, dropped, manifest)


curate = CURATION.entry("curate")


def label_controls(prompts: list[Prompt], verdicts: dict[str, Outcome]) -> dict[str, int] | None:
    """The classifier against the labels a source carries: factual prompts are its negative controls."""
    judged = [
        (p.kind, record["diverse_opinions"])
        for p in prompts
        if p.kind and (record := verdicts[p.id].record) is not None
    ]
    if not judged:
        return None
    counts: dict[str, int] = {}
    for label in ("value-laden", "factual"):
        counts[label] = sum(kind == label for kind, _ in judged)
        counts[f"{label} kept"] = sum(kind == label and kept for kind, kept in judged)
    return counts


def render_curation(
    spec: CurationSpec,
    counts: dict[str, int],
    rows: list[dict[str, Any]],
    dropped: list[dict[str, Any]],
    by_topic: Counter,
    controls: dict[str, int] | None = None,
) -> str:
    lines = [
        f"# Prompt curation: `{spec.source}`",
        "",
        "| step | prompts |",
        "|---|---|",
        *[f"| {step} | {n} |" for step, n in counts.items()],
        "",
        f"Split {spec.train}:{spec.heldout} (train:held-out) within each topic, seed {spec.seed}: "
        f"{sum(r['split'] == 'train' for r in rows)} train, {sum(r['split'] == 'heldout' for r in rows)} held out.",
        "",
        "| topic | train | held out |",
        "|---|---|---|",
    ]
    for topic in sorted({t for t, _ in by_topic}):
        lines.append(f"| {topic} | {by_topic[(topic, 'train')]} | {by_topic[(topic, 'heldout')]} |")
    if controls:
        lines += [
            "",
            f"Classifier against the source's labels: kept {controls['value-laden kept']} of "
            f"{controls['value-laden']} value-laden prompts and {controls['factual kept']} of {controls['factual']} "
            "factual ones (the negative controls: each one kept is a false positive).",
        ]
    lines += ["", "![topics](topics.png)", "", f"## Dropped ({len(dropped)})", "", "| id | step | reason | prompt |"]
    lines.append("|---|---|---|---|")
    for d in dropped:
        text = d["text"].replace("|", "\\|").replace("\n", " ")
        reason = d["reason"].replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {d['id']} | {d['step']} | {reason} | {text[:120]} |")
    return "\n".join(lines) + "\n"


@CURATION.summarises
def _summary(result: CurationResult) -> list[str]:
    m = result.manifest.results(CurationMetrics)
    steps = ", ".join(f"{step} {n}" for step, n in m.counts.items())
    return [f"{steps}; {m.train} train, {m.heldout} held out (prompts.jsonl, dropped.jsonl, curation.md)"]
