"""Curate a prompt set into a run dir: rules, de-duplication, LM controversiality and topics, stratified split.

Every prompt read ends up in exactly one of ``prompts.jsonl`` (kept, with topic, split and the classifier's
reason) or ``dropped.jsonl`` (with the step and reason that dropped it); ``curation.md`` counts each step.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import dspy
from pydantic import BaseModel, ConfigDict, Field

from persona.data.filters import PAPER_SPLIT, apply_rules, stratified_split
from persona.data.io import atomic_write_text, write_jsonl
from persona.data.prompts import Prompt, load_embedded_prompts, load_prompts
from persona.lm import ModelConfig, lm_secrets, make_lm
from persona.lm.adapter import DescribedJSONAdapter
from persona.programs.curation import PromptClassifier
from persona.runs.cache import run_cache
from persona.runs.execute import redact, run_log
from persona.runs.executor import ItemLog, run_items
from persona.runs.manifest import Manifest, ModelRecord, file_digest
from persona.runs.plots import topic_plot
from persona.runs.rundir import claim_run_dir
from persona.runs.spec import digest

RESULT_FILES = ("prompts.jsonl", "dropped.jsonl", "curation.md")


class CurationSpec(BaseModel):
    """Everything a curated prompt set depends on."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(default="embedded", description="'embedded', 'prism', or a JSONL/CSV/Parquet path")
    column: str = Field(default="text", description="the text column of a file source")
    seed: int = 0
    train: int = Field(default=PAPER_SPLIT[0], gt=0, description="train part of the train:held-out ratio")
    heldout: int = Field(default=PAPER_SPLIT[1], gt=0, description="held-out part of the ratio")
    classify: bool = Field(default=True, description="LM controversiality check (and topics for unlabelled)")
    model: ModelConfig = Field(default_factory=lambda: ModelConfig(max_tokens=96))

    def fingerprint(self) -> str:
        content = self.model_dump(mode="json", exclude={"model"}) | {"model": self.model.identity()}
        return digest(content)

    def default_dir(self) -> Path:
        name = self.source if self.source in ("embedded", "prism") else Path(self.source).stem
        return Path("outputs") / f"prompts-{name}-seed{self.seed}"


class CurationResult(NamedTuple):
    run_dir: Path
    kept: list[dict[str, Any]]
    dropped: list[dict[str, Any]]
    manifest: Manifest


def curate(spec: CurationSpec, out: Path | None = None, progress: Any = None, concurrency: int = 1) -> CurationResult:
    """Curate ``spec.source`` into ``out``; the source is read before anything is written."""
    clock = time.perf_counter()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    prompts = load_prompts(spec.source, spec.column)
    run_dir = Path(out or spec.default_dir())
    lm = make_lm(spec.model, "judge") if spec.classify else None
    secrets = lm_secrets([lm] if lm is not None else [])
    with claim_run_dir(run_dir, spec.fingerprint()):
        ruled, dropped = apply_rules(prompts)
        for record in dropped:
            record["step"] = "rules"
        counts = {"read": len(prompts), "after rules and de-duplication": len(ruled)}
        verdicts: dict[str, dict[str, Any]] = {}
        with run_log(run_dir / "run.log", secrets), run_cache(run_dir / "cache") as cache:
            if lm is not None:
                topics = sorted({p.topic for p in load_embedded_prompts() if p.topic})
                classifier = PromptClassifier(lm, topics=topics)

                def work(prompt: Prompt) -> dict[str, Any]:
                    result = classifier(prompt=prompt)
                    return {k: result[k] for k in ("diverse_opinions", "reason", "topic", "topic_by")}

                with dspy.context(adapter=DescribedJSONAdapter(), disable_history=True):
                    stage = run_items(
                        ruled,
                        key=lambda p: p.id,
                        work=work,
                        log=ItemLog(run_dir / "log" / "classify.jsonl"),
                        concurrency=concurrency,
                        label="classify",
                        progress=progress,
                        describe_error=lambda exc: redact(str(exc), secrets),
                    )
                verdicts = {p.id: entry for p, entry in zip(ruled, stage.entries, strict=True)}
            calls = cache.counts()

        kept: list[Prompt] = []
        notes: dict[str, dict[str, Any]] = {}
        for prompt in ruled:
            entry = verdicts.get(prompt.id)
            if entry is None:
                kept.append(prompt)
                notes[prompt.id] = {"reason": None, "topic_by": "source" if prompt.topic else None}
            elif not entry["ok"]:
                error = entry["error"]
                reason = f"classifier failed: {error['type']}: {error['message']}"
                dropped.append({"id": prompt.id, "text": prompt.text, "reason": reason, "step": "classifier"})
            elif not entry["record"]["diverse_opinions"]:
                reason = f"not controversial: {entry['record']['reason']}"
                dropped.append({"id": prompt.id, "text": prompt.text, "reason": reason, "step": "classifier"})
            else:
                record = entry["record"]
                kept.append(prompt.model_copy(update={"topic": record["topic"]}))
                notes[prompt.id] = {"reason": record["reason"], "topic_by": record["topic_by"]}
        if lm is not None:
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
        atomic_write_text(run_dir / "curation.md", render_curation(spec, counts, rows, dropped, by_topic))

        metrics = {
            "counts": counts,
            "dropped_by_step": dict(Counter(d["step"] for d in dropped)),
            "train": sum(r["split"] == "train" for r in rows),
            "heldout": sum(r["split"] == "heldout" for r in rows),
        }
        manifest = Manifest.build(
            run_dir=run_dir,
            spec=spec.model_dump(mode="json"),
            spec_path=None,
            models={"judge": ModelRecord(model=spec.model.model, args=spec.model.lm_args())} if lm else {},
            seed=spec.seed,
            concurrency=concurrency,
            calls=calls,
            failures={"prompts.jsonl": sum(d["reason"].startswith("classifier failed") for d in dropped)},
            resumed_items={"classify": stage.resumed} if lm is not None else {},
            aborted=False,
            wall_time_s=round(time.perf_counter() - clock, 3),
            started_at=started_at,
            files={name: file_digest(run_dir / name) for name in RESULT_FILES},
            metrics=metrics,
        )
        atomic_write_text(run_dir / "manifest.json", manifest.model_dump_json(indent=2) + "\n")
        return CurationResult(run_dir, rows, dropped, manifest)


def render_curation(
    spec: CurationSpec,
    counts: dict[str, int],
    rows: list[dict[str, Any]],
    dropped: list[dict[str, Any]],
    by_topic: Counter,
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
    lines += ["", "![topics](topics.png)", "", f"## Dropped ({len(dropped)})", "", "| id | step | reason | prompt |"]
    lines.append("|---|---|---|---|")
    for d in dropped:
        text = d["text"].replace("|", "\\|").replace("\n", " ")
        reason = d["reason"].replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {d['id']} | {d['step']} | {reason} | {text[:120]} |")
    return "\n".join(lines) + "\n"
