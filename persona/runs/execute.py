"""Execute a run spec: personas -> prompts -> DPF pairs -> bench, with every LM call cached in the run dir."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import dspy
import numpy as np
from rich.progress import Progress

from persona.data.io import atomic_write_text, write_jsonl
from persona.data.persona import Persona
from persona.data.prompts import Prompt, load_embedded_prompts
from persona.lm import make_lm
from persona.lm.adapter import DescribedJSONAdapter
from persona.metrics import Estimate, pass_rate
from persona.programs import BenchItem, DPFPair, sample_personas
from persona.runs.cache import CallCounts, run_cache
from persona.runs.manifest import Manifest, ModelRecord, file_digest, git_revision, package_versions
from persona.runs.spec import RunSpec

RESULT_FILES = ("personas.jsonl", "prompts.jsonl", "pairs.jsonl", "bench.jsonl")
T = TypeVar("T")


class Item(NamedTuple):
    persona: Persona
    prompt: Prompt


class RunResult(NamedTuple):
    run_dir: Path
    manifest: Manifest


def plan_items(personas: list[Persona], prompts: list[Prompt], per_persona: int, seed: int) -> list[Item]:
    """Pair each persona with prompts drawn independently of who they are, as the paper does."""
    if per_persona > len(prompts):
        raise ValueError(f"prompts.per_persona={per_persona} exceeds the {len(prompts)} prompts available")
    rng = np.random.default_rng([seed, 1])
    return [
        Item(persona, prompts[index])
        for persona in personas
        for index in sorted(rng.choice(len(prompts), size=per_persona, replace=False))
    ]


def _secrets(spec: RunSpec) -> list[str]:
    return [os.environ[c.api_key_env] for c in spec.models.values() if c.api_key_env and os.environ.get(c.api_key_env)]


def _error(exc: Exception, secrets: list[str]) -> str:
    message = f"{type(exc).__name__}: {exc}"
    for secret in secrets:
        message = message.replace(secret, "***")
    return message


def _each(
    items: list[Item], label: str, work: Callable[[Item], T], progress: Progress | None
) -> Iterable[tuple[Item, T | Exception]]:
    """Run ``work`` per item in order; an item that raises yields its exception instead of ending the run."""
    task = progress.add_task(label, total=len(items)) if progress else None
    for item in items:
        try:
            yield item, work(item)
        except Exception as exc:
            yield item, exc
        if progress is not None and task is not None:
            progress.advance(task)


def _pair_records(items: list[Item], program: DPFPair, secrets: list[str], progress: Progress | None) -> list[dict]:
    records = []
    for item, result in _each(
        items, "preference pairs", lambda it: program(question=it.prompt.text, persona=it.persona.as_prompt()), progress
    ):
        record: dict[str, Any] = {"persona_id": item.persona.id, "prompt_id": item.prompt.id}
        if isinstance(result, Exception):
            record.update(chosen=None, rejected=None, critique=None, error=_error(result, secrets))
        else:
            record.update(chosen=result.chosen, rejected=result.rejected, critique=result.critique, error=None)
        records.append(record)
    return records


def _bench_records(
    items: list[Item], program: BenchItem, spec: RunSpec, secrets: list[str], progress: Progress | None
) -> list[dict]:
    records = []

    def work(item: Item) -> dspy.Prediction:
        return program(
            question=item.prompt.text,
            persona=item.persona.as_prompt(),
            samples=spec.bench.samples,
            temperature=spec.bench.temperature,
        )

    for item, result in _each(items, "bench", work, progress):
        base = {"persona_id": item.persona.id, "prompt_id": item.prompt.id}
        if isinstance(result, Exception):
            records.append(
                {
                    **base,
                    "sample": None,
                    "answer": None,
                    "critique": None,
                    "passed": None,
                    "error": _error(result, secrets),
                }
            )
        else:
            records.extend({**base, **sample, "error": None} for sample in result.samples)
    return records


def _estimate(estimate: Estimate) -> dict[str, float | int | None]:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in estimate._asdict().items()}


def summarize(pairs: list[dict], bench: list[dict], spec: RunSpec) -> dict[str, Any]:
    """Run-level metrics from the records alone (so they can be recomputed from the JSONL files)."""
    judged = [r["passed"] for r in bench if r["error"] is None]
    built = [r for r in pairs if r["error"] is None]
    shorter = sum(len(r["chosen"]) < len(r["rejected"]) for r in built)
    return {
        "bench_pass_rate": _estimate(
            pass_rate(judged, confidence=spec.bench.confidence, resamples=spec.bench.resamples, seed=spec.seed)
        ),
        "bench_confidence": spec.bench.confidence,
        "bench_failures": len(bench) - len(judged),
        "pairs_built": len(built),
        "pairs_failed": len(pairs) - len(built),
        "pairs_chosen_shorter": shorter,
    }


def run(
    spec: RunSpec, out: Path | None = None, spec_path: Path | None = None, progress: Progress | None = None
) -> RunResult:
    """Execute ``spec`` into its run dir. Re-running the same spec replays every LM call from the run's cache.

    Args:
        spec: the validated run spec.
        out: run dir, overriding ``spec.out`` (default ``outputs/<name>``).
        spec_path: where the spec came from, recorded in the manifest.
        progress: a rich ``Progress`` to report on; None runs silently.
    """
    clock = time.perf_counter()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    run_dir = spec.run_dir(out)
    run_dir.mkdir(parents=True, exist_ok=True)
    lms = {role: make_lm(config, role) for role, config in spec.models.items()}
    secrets = _secrets(spec)

    personas = sample_personas(spec.personas.n, seed=spec.seed, min_age=spec.personas.min_age)
    items = plan_items(personas, load_embedded_prompts(), spec.prompts.per_persona, spec.seed)
    used_prompts = {item.prompt.id: item.prompt for item in items}

    with run_cache(run_dir / "cache") as cache, dspy.context(adapter=DescribedJSONAdapter()):
        pairs = _pair_records(items, DPFPair(generator=lms["generator"], critic=lms["persona"]), secrets, progress)
        bench = _bench_records(
            items, BenchItem(responder=lms["generator"], judge=lms["judge"]), spec, secrets, progress
        )
        counts = cache.counts()

    write_jsonl(run_dir / "personas.jsonl", (p.model_dump() for p in personas))
    write_jsonl(run_dir / "prompts.jsonl", (p.model_dump() for p in sorted(used_prompts.values(), key=lambda p: p.id)))
    write_jsonl(run_dir / "pairs.jsonl", pairs)
    write_jsonl(run_dir / "bench.jsonl", bench)

    metrics = summarize(pairs, bench, spec)
    manifest = Manifest(
        spec=spec.model_dump(mode="json"),
        spec_path=str(spec_path) if spec_path else None,
        git_revision=git_revision(),
        packages=package_versions(),
        models={role: ModelRecord(model=c.model, args=c.lm_args()) for role, c in spec.models.items()},
        seed=spec.seed,
        calls=counts,
        model_calls=sum(c.misses for c in counts.values()),
        cache_hits=sum(c.hits for c in counts.values()),
        failures={"pairs.jsonl": metrics["pairs_failed"], "bench.jsonl": metrics["bench_failures"]},
        wall_time_s=round(time.perf_counter() - clock, 3),
        started_at=started_at,
        files={name: file_digest(run_dir / name) for name in RESULT_FILES},
        metrics=metrics,
    )
    atomic_write_text(run_dir / "report.md", render_report(manifest, len(personas), len(items)))
    atomic_write_text(run_dir / "manifest.json", manifest.model_dump_json(indent=2) + "\n")
    return RunResult(run_dir, manifest)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def render_report(manifest: Manifest, n_personas: int, n_items: int) -> str:
    m = manifest.metrics
    rate = m["bench_pass_rate"]
    level = round(m["bench_confidence"] * 100)
    lines = [
        f"# Run `{manifest.spec['name']}`",
        "",
        f"{n_personas} personas x {manifest.spec['prompts']['per_persona']} prompts = {n_items} items; "
        f"seed {manifest.seed}.",
        "",
        "## PERSONA Bench (judge: needs no revision = pass)",
        "",
        f"| pass rate | {level}% CI | judged answers | judge/answer failures |",
        "|---|---|---|---|",
        f"| {_fmt(rate['value'])} | [{_fmt(rate['low'])}, {_fmt(rate['high'])}] | {rate['n']} "
        f"| {m['bench_failures']} |",
        "",
        "## DPF preference pairs",
        "",
        f"{m['pairs_built']} built, {m['pairs_failed']} failed; "
        f"chosen shorter than rejected in {m['pairs_chosen_shorter']} of {m['pairs_built']}.",
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
        f"Total: {manifest.model_calls} model calls, {manifest.cache_hits} served from the run cache; "
        f"{manifest.wall_time_s:.1f} s wall time.",
        "",
    ]
    return "\n".join(lines)
