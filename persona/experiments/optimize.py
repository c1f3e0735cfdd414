"""Optimize a bench responder with a DSPy optimizer, then compare it with the unoptimized one on held-out data.

Leakage is ruled out by construction: the optimizer's trainset and valset come only from train personas x train
prompts; the evaluation uses held-out personas, on held-out prompts and on seen (train) prompts, as the paper's
seen/held-out design does. The compiled program is saved with DSPy's ``save`` and evaluated after loading it back,
so what the report measures is exactly what a later ``load`` gets.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NamedTuple

import numpy as np
from pydantic import AliasChoices, BaseModel, Field, model_validator

from persona.data.io import atomic_write_text
from persona.data.persona import Persona
from persona.data.prompts import Prompt
from persona.errors import InputError
from persona.experiments.bench import (
    BenchInputs,
    Histories,
    history_shown,
    read_histories,
    responder_entry,
    responder_fingerprint,
    spec_rate,
    write_results,
)
from persona.experiments.inputs import (
    POPULATION,
    Item,
    JudgeFailure,
    PersonasInput,
    experiment_personas,
    load_split_prompts,
    read_personas_input,
    role_models,
    split_personas,
)
from persona.experiments.population import population_role
from persona.lm.config import ModelConfig
from persona.lm.roles import Role
from persona.metrics import EstimateRecord
from persona.plugins import is_import_path
from persona.programs.responders import MODES, load_responder
from persona.reports import estimates_table, format_estimate, small_sample_note
from persona.reports.estimates import markdown
from persona.reports.judging import judge_note
from persona.runs.kinds import Kind
from persona.runs.manifest import Manifest, Metrics
from persona.runs.records import Record
from persona.runs.session import RunRecords, Session
from persona.runs.spec import model_slug

if TYPE_CHECKING:
    import dspy

OPTIMIZERS = ("bootstrap", "mipro", "gepa")
PROGRAMS = ("baseline", "optimized")
EVAL_SETS = ("heldout_prompts", "seen_prompts")


class OptimizeSpec(BenchInputs):
    """Budget defaults are small on purpose: every metric call is a judge call."""

    kind: Literal["optimize"] = "optimize"
    n_personas: int = Field(default=20, gt=1, description="personas drawn, then split train / held-out")
    heldout_personas: float = Field(default=0.3, gt=0, lt=1, description="share of personas held out")
    mode: str = Field(
        default="cot",
        validation_alias=AliasChoices("mode", "responder"),
        description="the responder to optimize: a persona-aware built-in mode, history@k (with `history`), or your "
        "own dspy.Module as 'package.module:Name'",
    )
    optimizer: Literal["bootstrap", "mipro", "gepa"] = Field(
        default="bootstrap", description="bootstrap (BootstrapFewShot), mipro (MIPROv2) or gepa (GEPA)"
    )
    metric: Literal["judge", "proxy"] = Field(default="judge", description="what the optimizer maximises")
    train: int = Field(default=8, gt=0, description="trainset size (train personas x train prompts)")
    val: int = Field(default=4, ge=0, description="valset size, disjoint from the trainset")
    eval_items: int = Field(default=20, gt=0, description="held-out personas x prompts, per evaluation set")
    max_demos: int = Field(default=2, ge=0, description="bootstrapped demos per predictor")
    max_metric_calls: int = Field(default=40, gt=0, description="GEPA's budget; MIPROv2 trials = this / 10")
    threads: int = Field(default=1, gt=0, description="optimizer threads (MIPROv2, GEPA)")
    history: str | None = Field(
        default=None, description="a pairs run dir whose train pairs are each persona's history (mode history@k)"
    )
    ADDED_LATER = ("history",)

    ROLES: ClassVar[dict[str, Role]] = {
        "responder": Role(max_tokens=200),
        "judge": Role(max_tokens=160),
        "reflection": Role(max_tokens=400, like="judge"),  # MIPROv2's proposer, GEPA's reflection
        POPULATION: population_role("judge"),
    }

    @model_validator(mode="after")
    def _known_mode(self) -> OptimizeSpec:
        if history_shown([self.mode], self.history):  # history@0 is the baseline: nothing of the person to tune on
            return self
        if is_import_path(self.mode):
            responder = load_responder(self.mode)  # a path that does not import is named here
            if not hasattr(responder, "named_predictors"):
                raise ValueError(
                    f"{self.mode}: a {type(responder).__name__} has no DSPy predictors to tune; optimize compiles a "
                    "dspy.Module"
                )
        elif self.mode not in MODES or self.mode == "baseline":
            raise ValueError(
                f"optimize a persona-aware mode ({', '.join(m for m in MODES if m != 'baseline')}), history@k "
                "(k >= 1, with `history`) or a dspy.Module of your own as 'package.module:Name'"
            )
        return self

    def fingerprint(self) -> str:
        return responder_fingerprint(super().fingerprint(), self.mode)

    def default_dir(self) -> Path:
        slug = model_slug(self.models["responder"].model)
        return Path("outputs") / f"optimize-{self.optimizer}-{model_slug(self.mode)}-{slug}-seed{self.seed}"


OPTIMIZE = Kind("optimize", OptimizeSpec, subject="responder")


@OPTIMIZE.reads
def _read(spec: OptimizeSpec) -> tuple[PersonasInput, Histories]:
    """The personas' source and, for a history@k mode, each persona's train pairs: none may show a prompt the run
    trains or evaluates on."""
    source = read_personas_input(spec)
    if spec.history is None:
        return source, {}
    prompts = load_split_prompts(spec.prompts, spec.seed)
    return source, read_histories(
        spec.history, history_shown([spec.mode], spec.history), source, prompts["train"] + prompts["heldout"]
    )


def example(case: Item) -> dspy.Example:
    """What an optimizer sees of one (persona, question): the responder's inputs, plus ids and attributes for the
    metrics and the leakage checks."""
    import dspy

    return dspy.Example(
        question=case.prompt.text,
        persona=case.persona.as_prompt(),
        attributes=case.persona.known(),
        persona_id=case.persona.id,
        prompt_id=case.prompt.id,
    ).with_inputs("question", "persona")


class Plan(NamedTuple):
    train: list[Item]
    val: list[Item]
    evaluation: dict[str, list[Item]]
    histories: Histories  # each persona's train pairs by the text a program is shown (history@k modes)


def _draw(personas: list[Persona], prompts: list[Prompt], size: int, rng: np.random.Generator) -> list[Item]:
    grid = [(p, q) for p in personas for q in prompts]
    if size > len(grid):
        raise InputError(f"asked for {size} items from {len(personas)} personas x {len(prompts)} prompts")
    return [Item(*grid[i]) for i in sorted(rng.choice(len(grid), size=size, replace=False))]


def plan(spec: OptimizeSpec, personas: list[Persona], histories: Histories | None = None) -> Plan:
    """Train/val from train personas x train prompts (disjoint); evaluation from held-out personas only.
    ``histories`` (by persona id) travel with the plan, keyed by the persona text a program is shown."""
    people = split_personas(personas, spec.heldout_personas, spec.seed)
    prompts = load_split_prompts(spec.prompts, spec.seed)
    rng = np.random.default_rng([spec.seed, 9])
    pool = _draw(people["train"], prompts["train"], spec.train + spec.val, rng)
    order = rng.permutation(len(pool))
    train = [pool[i] for i in sorted(order[: spec.train])]
    val = [pool[i] for i in sorted(order[spec.train :])]
    evaluation = {
        "heldout_prompts": _draw(people["heldout"], prompts["heldout"], spec.eval_items, rng),
        "seen_prompts": _draw(people["heldout"], prompts["train"], spec.eval_items, rng),
    }
    known = histories or {}
    shown = {persona.as_prompt(): known[persona.id] for persona in personas if persona.id in known}
    return Plan(train, val, evaluation, shown)


def make_optimizer(spec: OptimizeSpec, metric: Any, lms: Mapping[str, dspy.LM]) -> Any:
    import dspy

    if spec.optimizer == "bootstrap":
        return dspy.BootstrapFewShot(metric=metric, max_bootstrapped_demos=spec.max_demos, max_labeled_demos=0)
    if spec.optimizer == "mipro":
        return dspy.MIPROv2(
            metric=metric,
            prompt_model=lms["reflection"],
            task_model=lms["responder"],
            auto=None,
            num_candidates=max(2, spec.max_metric_calls // 20),
            max_bootstrapped_demos=spec.max_demos,
            max_labeled_demos=0,
            num_threads=spec.threads,
            seed=spec.seed,
        )
    return dspy.GEPA(
        metric=lambda gold, pred, trace=None, pred_name=None, pred_trace=None: metric(gold, pred, trace),
        max_metric_calls=spec.max_metric_calls,
        reflection_lm=lms["reflection"],
        num_threads=spec.threads,
        seed=spec.seed,
    )


def compile_program(spec: OptimizeSpec, plan_: Plan, lms: Mapping[str, dspy.LM]) -> tuple[dspy.Module, dict[str, Any]]:
    from persona.programs.bench import responder_program
    from persona.programs.optimize import JudgeMetric, proxy_metric

    metric = JudgeMetric(lms["judge"]) if spec.metric == "judge" else proxy_metric
    optimizer = make_optimizer(spec, metric, lms)
    student = responder_program(spec.mode, lms["responder"], _records(plan_), plan_.histories)
    trainset = [example(case) for case in plan_.train]
    valset = [example(case) for case in plan_.val] or None
    if spec.optimizer == "mipro":
        compiled = optimizer.compile(
            student,
            trainset=trainset,
            valset=valset,
            num_trials=max(1, spec.max_metric_calls // 10),
            minibatch=False,
            requires_permission_to_run=False,
        )
    elif spec.optimizer == "gepa":
        compiled = optimizer.compile(student, trainset=trainset, valset=valset)
    else:
        compiled = optimizer.compile(student, trainset=trainset)
    stats_ = {
        "metric_calls": getattr(metric, "calls", None),
        "metric_judge_failures": getattr(metric, "failures", None),
    }
    stats_["demos"] = {name: len(predictor.demos) for name, predictor in compiled.named_predictors()}
    return compiled, stats_


def save_program(program: dspy.Module, path: Path) -> None:
    """DSPy's JSON state without the LMs: which model runs it is chosen at load time, and no LM settings (keys
    included) end up in the file."""
    bare = program.deepcopy()
    for predictor in bare.predictors():
        predictor.lm = None
    bare.save(str(path))


class EvalCase(NamedTuple):
    program: str
    split: str
    case: Item

    @property
    def key(self) -> str:
        return f"{self.program}|{self.split}|{self.case.key}"


@OPTIMIZE.needs
def _models(spec: OptimizeSpec, inputs: tuple[PersonasInput, Histories]) -> dict[str, ModelConfig]:
    # MIPROv2 proposes instructions and GEPA reflects on failures with the reflection model; bootstrapping needs none.
    needed = ["responder", "judge"] if spec.optimizer == "bootstrap" else ["responder", "judge", "reflection"]
    return role_models(spec, needed, inputs[0])


@OPTIMIZE.runs
def _run(session: Session, spec: OptimizeSpec, inputs: Any) -> RunRecords:
    """Compile, save, reload and evaluate; the report compares baseline and optimized on the same items."""
    source, histories = inputs
    run_dir = session.run_dir
    plan_ = plan(spec, experiment_personas(session, spec, source), histories)
    program_path = run_dir / "program.json"

    def make_compile(lms: Mapping[str, Any]) -> Callable[[str], dict[str, Any]]:
        def compile_once(_: str) -> dict[str, Any]:
            before = sum(lm.failures.value for lm in lms.values())
            compiled, stats_ = compile_program(spec, plan_, lms)
            failed = sum(lm.failures.value for lm in lms.values()) - before
            if failed:  # optimizers absorb errors; a program compiled half blind must not pass for the result
                raise CompileError(f"{failed} model calls failed while compiling; resuming the run compiles again")
            save_program(compiled, program_path)
            return stats_

        return compile_once

    compiled = session.stage("compile", ["compile"], key=str, make_work=make_compile, record=CompileStats)
    if (error := compiled.entries[0].error) is not None:
        session.stop(f"compiling failed: {error.message}")
    cases = [EvalCase(p, s, c) for s in EVAL_SETS for c in plan_.evaluation[s] for p in PROGRAMS]
    stage = session.stage(
        "eval",
        cases,
        key=lambda c: c.key,
        make_work=lambda lms: _evaluate(spec, plan_, program_path, lms),
        record=Evaluation,
        label="evaluation",
    )
    records = stage.rows(
        cases,
        lambda item: (
            {"program": item.program, "split": item.split, "persona_id": item.case.persona.id}
            | {"prompt_id": item.case.prompt.id, "question": item.case.prompt.text}
        ),
        Evaluation.fields(),
    )
    files = write_results(run_dir, "eval", records)
    split_ids = {
        "train": sorted({c.key for c in plan_.train}),
        "val": sorted({c.key for c in plan_.val}),
        **{name: sorted({c.key for c in cases_}) for name, cases_ in plan_.evaluation.items()},
    }
    _write_json(run_dir / "splits.json", split_ids)
    stats_ = CompileStats.model_validate(compiled.entries[0].record)
    metrics = optimize_metrics(records, spec, stats_)
    manifest = session.finish(
        files=[*files, "program.json", "splits.json"],
        metrics=metrics,
        report=render_optimize_report,
    )
    return RunRecords(run_dir, records, manifest)


run_optimize = responder_entry(OPTIMIZE, "run_optimize", lambda spec, path: {"mode": path})


def _records(plan_: Plan) -> dict[str, Persona]:
    """Every planned persona by the text a program is shown, for a plug-in responder that reads the record."""
    cases = [*plan_.train, *plan_.val, *(case for cases in plan_.evaluation.values() for case in cases)]
    return {case.persona.as_prompt(): case.persona for case in cases}


def _evaluate(
    spec: OptimizeSpec, plan_: Plan, program_path: Path, lms: Mapping[str, Any]
) -> Callable[[EvalCase], dict[str, Any]]:
    """Baseline and compiled program answer each case; the revision judge grades every answer."""
    from persona.programs.bench import RevisionJudge, judged, load_program, responder_program

    records = _records(plan_)
    programs = {
        "baseline": responder_program(spec.mode, lms["responder"], records, plan_.histories),
        "optimized": load_program(program_path, spec.mode, lms["responder"], records, plan_.histories),
    }
    judge = RevisionJudge(lms["judge"])

    def work(item: EvalCase) -> dict[str, Any]:
        question, persona = item.case.prompt.text, item.case.persona.as_prompt()
        answer = programs[item.program](question=question, persona=persona).answer
        return {"answer": answer} | judged(
            lambda: judge(question=question, persona=persona, answer=answer), ("passed",), "judge_error"
        )

    return work


class Evaluation(Record):
    """One program's answer to one evaluation case, and the revision judge's verdict on it."""

    answer: str
    passed: bool | None
    judge_error: JudgeFailure | None


class CompileError(Exception):
    """Compiling met model calls that failed; the run records it, and a resumed run compiles again."""


def _write_json(path: Path, value: Any) -> None:
    atomic_write_text(path, json.dumps(value, indent=2, sort_keys=True) + "\n")


class PairedTest(BaseModel):
    """Exact McNemar test of optimized against baseline on the items both had judged."""

    pairs: int
    optimized_only: int = Field(description="items only the optimized program passed")
    baseline_only: int = Field(description="items only the baseline passed")
    p_value: float


class EvalSet(BaseModel):
    baseline: EstimateRecord
    optimized: EstimateRecord
    paired: PairedTest
    unjudged: int = Field(description="items left out because a judge output of either program never parsed")


class CompileStats(Record):
    """What compiling cost and kept."""

    metric_calls: int | None
    metric_judge_failures: int | None
    demos: dict[str, int] = Field(description="demos per predictor of the compiled program")


@OPTIMIZE.measures
class OptimizeMetrics(Metrics):
    """Baseline against optimized responder on held-out personas, per evaluation set."""

    sets: dict[str, EvalSet] = Field(description="heldout_prompts and seen_prompts")
    compile: CompileStats


def paired_test(baseline: list[bool], optimized: list[bool]) -> PairedTest:
    """Exact McNemar test on the items both programs had judged: only discordant pairs carry information."""
    gained = sum(not b and o for b, o in zip(baseline, optimized, strict=True))
    lost = sum(b and not o for b, o in zip(baseline, optimized, strict=True))
    from scipy import stats

    p = stats.binomtest(gained, gained + lost, 0.5).pvalue if gained + lost else 1.0
    return PairedTest(pairs=len(baseline), optimized_only=gained, baseline_only=lost, p_value=float(p))


def optimize_metrics(records: list[dict[str, Any]], spec: OptimizeSpec, compiled: CompileStats) -> OptimizeMetrics:
    sets = {}
    for split in EVAL_SETS:
        rows = {
            p: {r["persona_id"] + "|" + r["prompt_id"]: r for r in records if r["split"] == split and r["program"] == p}
            for p in PROGRAMS
        }
        judged = [k for k in rows["baseline"] if all(rows[p][k]["passed"] is not None for p in PROGRAMS)]
        sets[split] = EvalSet(
            **{p: spec_rate([rows[p][k]["passed"] for k in judged], spec) for p in PROGRAMS},
            paired=paired_test(
                [rows["baseline"][k]["passed"] for k in judged], [rows["optimized"][k]["passed"] for k in judged]
            ),
            unjudged=len(rows["baseline"]) - len(judged),
        )
    return OptimizeMetrics(sets=sets, compile=compiled)


def render_optimize_report(manifest: Manifest) -> str:
    spec, m = manifest.spec, manifest.results(OptimizeMetrics)
    fmt = lambda v: "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"  # noqa: E731
    lines = [
        f"# Optimizing `{spec['mode']}` with {spec['optimizer']} (metric: {spec['metric']})",
        "",
        f"Responder `{manifest.models['responder'].model}`, judge `{manifest.models['judge'].model}`. "
        f"Trainset {spec['train']} and valset {spec['val']} items from train personas x train prompts; evaluation "
        f"on held-out personas ({spec['heldout_personas']:.0%} of {spec['n_personas']}), {spec['eval_items']} items "
        "per set. Demos per predictor after compiling: "
        + ", ".join(f"{k} {v}" for k, v in m.compile.demos.items())
        + ".",
        "",
        *judge_note(manifest),
        "| evaluation set | baseline, 95% CI | optimized, 95% CI | optimized-only passes | baseline-only | "
        "McNemar p | unjudged |",
        "|---|---|---|---|---|---|---|",
    ]
    for split, row in m.sets.items():
        paired = row.paired
        lines.append(
            f"| {split} | {format_estimate(row.baseline)} | {format_estimate(row.optimized)} | "
            f"{paired.optimized_only} | {paired.baseline_only} | {fmt(paired.p_value)} | {row.unjudged} |"
        )
    lines += [
        "",
        "The compiled program is `program.json` (DSPy state); `splits.json` lists every item's ids.",
        "",
        *small_sample_note(e for row in m.sets.values() for e in (row.baseline, row.optimized)),
    ]
    return markdown(lines, manifest.calls_line())


@OPTIMIZE.summarises
def _summary(result: RunRecords) -> list[Any]:
    shown: list[Any] = []
    for split, row in result.manifest.results(OptimizeMetrics).sets.items():
        shown.append(estimates_table(f"{split}: accuracy", {"baseline": row.baseline, "optimized": row.optimized}))
        shown.append(f"paired (McNemar exact) p = {row.paired.p_value:.3f}")
    return shown
