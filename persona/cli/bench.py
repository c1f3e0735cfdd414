"""Commands that evaluate: PERSONA Bench (main, pass@k, leave-one-out), reports, agreement, optimization."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from persona.cli.base import (
    App,
    ConcurrencyOption,
    FlagMap,
    MaxFailuresOption,
    OutOption,
    RayOption,
    WorkersOption,
    console,
    csv,
    given,
    run_kind,
)

bench_app = App(help="PERSONA Bench: how well a model personalizes, judged by another.")
agreement_app = App(help="Human/model agreement: kappa between annotators playing the same personas.")

PersonasOption = Annotated[str | None, typer.Option(help="'acs12', 'pums:PATH', or a personas.jsonl / its run dir.")]
NOption = Annotated[int | None, typer.Option("--n", min=1, help="Personas drawn from a census source.")]
PromptsOption = Annotated[str | None, typer.Option(help="'embedded' or a `persona prompts curate` run dir.")]
SplitOption = Annotated[str | None, typer.Option(help="Prompts to ask: 'heldout', 'train' or 'all'.")]
QuestionsOption = Annotated[int | None, typer.Option(min=1, help="Questions per persona.")]
SeedOption = Annotated[int | None, typer.Option(help="Everything random derives from it.")]
TestedModelOption = Annotated[str | None, typer.Option(help="Model under test (default: the embedded local/smollm2).")]
JudgeOption = Annotated[
    str | None, typer.Option(help="Judge model (default: the embedded local/smollm2, whatever the model under test).")
]
ApiBaseOption = Annotated[str | None, typer.Option(help="Endpoint for --model, e.g. a vLLM server.")]
JudgeApiBaseOption = Annotated[str | None, typer.Option(help="Endpoint for --judge.")]
MaxTokensOption = Annotated[int | None, typer.Option(min=1, help="Answer length cap for the model under test.")]

# The model under test and its judge: the judge is the one --judge names, never silently the model under test.
TESTED_AND_JUDGE = {
    "model": "models.responder.model",
    "api_base": "models.responder.api_base",
    "max_tokens": "models.responder.max_tokens",
    "judge": "models.judge.model",
    "judge_api_base": "models.judge.api_base",
    "n": "n_personas",
}


@bench_app.command("run")
def bench_run(
    ctx: typer.Context,
    model: TestedModelOption = None,
    judge: JudgeOption = None,
    modes: Annotated[str | None, typer.Option(help="Comma-separated: baseline, no_cot, cot, summary; or all.")] = None,
    n: NOption = None,
    questions: QuestionsOption = None,
    personas: PersonasOption = None,
    prompts: PromptsOption = None,
    split: SplitOption = None,
    seed: SeedOption = None,
    subtlety: Annotated[bool | None, typer.Option(help="Also judge whether answers name the attributes.")] = None,
    summary_analysis: Annotated[bool | None, typer.Option(help="Summary mode: find dropped attributes.")] = None,
    slices: Annotated[
        list[str] | None, typer.Option("--slice", help="Intersection to report, e.g. 'sex == \"Female\" and age < 35'.")
    ] = None,
    max_tokens: MaxTokensOption = None,
    api_base: ApiBaseOption = None,
    judge_api_base: JudgeApiBaseOption = None,
    program: Annotated[
        Path | None, typer.Option(help="A `persona optimize` program.json, evaluated as an extra mode 'program'.")
    ] = None,
    out: OutOption = None,
    concurrency: ConcurrencyOption = None,
    max_failures: MaxFailuresOption = None,
    workers: WorkersOption = None,
    ray: RayOption = None,
) -> None:
    """Answer every persona x question in each mode, judge each answer, report accuracy per mode with CIs.

    Flags left out take the `bench` spec's defaults (`persona spec bench` prints them).
    """
    run_kind("bench", ctx, TESTED_AND_JUDGE | {"modes": csv("modes")})


@bench_app.command("passk")
def bench_passk(
    ctx: typer.Context,
    model: TestedModelOption = None,
    judge: JudgeOption = None,
    mode: Annotated[str | None, typer.Option(help="Responder mode: baseline, no_cot, cot or summary.")] = None,
    n: NOption = None,
    questions: QuestionsOption = None,
    samples: Annotated[int | None, typer.Option(min=1, help="Independent answers per item (n of pass@k).")] = None,
    k_max: Annotated[int | None, typer.Option(min=1, help="Largest k reported; at most --samples.")] = None,
    temperature: Annotated[float | None, typer.Option(min=0.01, help="Sampling temperature of the answers.")] = None,
    personas: PersonasOption = None,
    prompts: PromptsOption = None,
    split: SplitOption = None,
    seed: SeedOption = None,
    max_tokens: MaxTokensOption = None,
    api_base: ApiBaseOption = None,
    judge_api_base: JudgeApiBaseOption = None,
    out: OutOption = None,
    concurrency: ConcurrencyOption = None,
    max_failures: MaxFailuresOption = None,
    workers: WorkersOption = None,
    ray: RayOption = None,
) -> None:
    """pass@k for k = 1..k_max: n independent answers per item, each judged on its own, unbiased estimator.

    Flags left out take the `passk` spec's defaults (`persona spec passk` prints them).
    """
    run_kind("passk", ctx, TESTED_AND_JUDGE)


@bench_app.command("loo")
def bench_loo(
    ctx: typer.Context,
    annotator: Annotated[str | None, typer.Option(help="Role-play annotator (default: local/smollm2).")] = None,
    model: Annotated[str | None, typer.Option(help="Model writing the answers (default: the annotator's).")] = None,
    attributes: Annotated[str | None, typer.Option(help="Comma-separated attributes (default: all).")] = None,
    pairs: Annotated[int | None, typer.Option(min=1, help="Persona pairs per attribute (paper: 40).")] = None,
    base_size: Annotated[int | None, typer.Option(min=1, help="Attributes without the left-out one.")] = None,
    questions: Annotated[int | None, typer.Option(min=2, help="Preference questions per persona (paper: 20).")] = None,
    method: Annotated[
        str | None, typer.Option(help="refine (the paper's: baseline vs its refinement) or blind (two answers).")
    ] = None,
    answers: Annotated[
        str | None, typer.Option(help="'generate', or (blind) a JSONL of id, question, answer_a/b.")
    ] = None,
    pool: Annotated[int | None, typer.Option(min=1, help="Census personas the pairs are drawn from.")] = None,
    personas: PersonasOption = None,
    prompts: PromptsOption = None,
    split: SplitOption = None,
    seed: SeedOption = None,
    api_base: Annotated[str | None, typer.Option(help="Endpoint for --annotator.")] = None,
    out: OutOption = None,
    concurrency: ConcurrencyOption = None,
    max_failures: MaxFailuresOption = None,
    workers: WorkersOption = None,
    ray: RayOption = None,
) -> None:
    """Leave-one-out: kappa between personas with and without each attribute, per pair; box plot per attribute.

    Flags left out take the `loo` spec's defaults (`persona spec loo` prints them).
    """
    flags: FlagMap = {
        "annotator": "models.annotator.model",
        "api_base": "models.annotator.api_base",
        "model": "models.responder.model",
        "attributes": csv("attributes"),
        "pool": "n_personas",
    }
    run_kind("loo", ctx, flags)


@bench_app.command("slices")
def bench_slices(
    run_dir: Annotated[Path, typer.Argument(help="A `persona bench run` or `bench passk` run dir.")],
    slices: Annotated[list[str], typer.Option("--slice", help="Predicate, e.g. 'sex == \"Female\" and age < 35'.")],
    out: Annotated[Path | None, typer.Option("--out", help="Folder (default: RUN_DIR/slices).")] = None,
) -> None:
    """Accuracy per intersection of attributes, with CIs and slice sizes (syntax: see persona.metrics.slices)."""
    from persona.reports.runs import run_slices

    table = run_slices(run_dir, slices, out)
    shown = Table(title="accuracy per slice")
    for column in table.columns:
        shown.add_column(str(column))
    for row in table.itertuples(index=False):
        shown.add_row(*("n/a" if v is None or v != v else f"{v:.3f}" if isinstance(v, float) else str(v) for v in row))
    console.print(shown)
    console.print(f"written: [cyan]{out or run_dir / 'slices'}[/] (slices.md, slices.jsonl)")


@bench_app.command("report")
def bench_report(
    run_dirs: Annotated[list[Path], typer.Argument(help="One run dir (re-rendered) or several (compared).")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder (default: the run dir, or outputs/bench-report).")
    ] = None,
) -> None:
    """Markdown report and PNG plots from finished bench, pass@k or LOO run dirs; no model is called."""
    from persona.reports.runs import report_runs

    for path in report_runs(run_dirs, out):
        console.print(f"[green]written[/] {path}")


@agreement_app.command("compute")
def agreement_compute(
    files: Annotated[
        list[Path], typer.Argument(help="Annotation CSV/JSONL files: annotator, persona_id, item_id, choice.")
    ],
    out: Annotated[Path | None, typer.Option("--out", help="Folder (default outputs/agreement).")] = None,
) -> None:
    """Pairwise Cohen's kappa between annotators: pooled matrix and per-persona histograms (Figures 6 to 9)."""
    from persona.experiments.agreement import load_annotations, write_agreement

    result = write_agreement(load_annotations(files), [str(f) for f in files], **given(out=out))
    console.print(result.matrix.round(3).to_string())
    console.print("written: agreement.md, kappa_matrix.png, kappa_hist.png")


@agreement_app.command("annotate")
def agreement_annotate(
    ctx: typer.Context,
    items: Annotated[
        Path, typer.Option(help="JSONL of id, question, answer_a, answer_b (e.g. a LOO questions.jsonl).")
    ],
    personas: Annotated[str, typer.Option(help="A personas.jsonl or its run dir (ids must match the annotations).")],
    model: Annotated[str | None, typer.Option(help="Role-play annotator (default: local/smollm2).")] = None,
    api_base: Annotated[str | None, typer.Option(help="Endpoint for --model.")] = None,
    like: Annotated[Path | None, typer.Option(help="Annotate exactly the (persona, item) rows of this file.")] = None,
    name: Annotated[str | None, typer.Option(help="Annotator label (default: the model string).")] = None,
    temperature: Annotated[float | None, typer.Option(min=0, max=2, help="Sampling temperature.")] = None,
    out: OutOption = None,
    concurrency: ConcurrencyOption = None,
    max_failures: MaxFailuresOption = None,
    workers: WorkersOption = None,
    ray: RayOption = None,
) -> None:
    """Model annotations by role-play, in the same format as human ones, ready for `persona agreement compute`."""
    flags = {"model": "model.model", "api_base": "model.api_base", "temperature": "model.temperature"}
    run_kind("annotate", ctx, flags)


def optimize_command(
    ctx: typer.Context,
    mode: Annotated[str | None, typer.Option(help="Responder mode to optimize: no_cot, cot or summary.")] = None,
    optimizer: Annotated[str | None, typer.Option(help="bootstrap (BootstrapFewShot), mipro or gepa.")] = None,
    model: Annotated[str | None, typer.Option(help="Model being optimized (default: local/smollm2).")] = None,
    judge: Annotated[str | None, typer.Option(help="Judge behind the metric (default: local/smollm2).")] = None,
    reflection: Annotated[str | None, typer.Option(help="MIPROv2/GEPA reflection model (default: judge's).")] = None,
    metric: Annotated[str | None, typer.Option(help="judge (the bench judge) or proxy (LM-free, cheap).")] = None,
    budget: Annotated[int | None, typer.Option(min=1, help="Metric calls for GEPA; MIPROv2: budget/10.")] = None,
    train: Annotated[int | None, typer.Option(min=1, help="Trainset: train personas x train prompts.")] = None,
    val: Annotated[int | None, typer.Option(min=0, help="Valset, disjoint from the trainset.")] = None,
    eval_items: Annotated[int | None, typer.Option(min=1, help="Held-out items per evaluation set.")] = None,
    max_demos: Annotated[int | None, typer.Option(min=0, help="Bootstrapped demos per predictor.")] = None,
    n: Annotated[int | None, typer.Option("--n", min=2, help="Personas drawn, then split train/held-out.")] = None,
    heldout_personas: Annotated[float | None, typer.Option(min=0.01, max=0.99, help="Share held out.")] = None,
    personas: PersonasOption = None,
    prompts: PromptsOption = None,
    seed: SeedOption = None,
    threads: Annotated[int | None, typer.Option(min=1, help="Optimizer threads (MIPROv2, GEPA).")] = None,
    out: OutOption = None,
    concurrency: ConcurrencyOption = None,
    max_failures: MaxFailuresOption = None,
    workers: WorkersOption = None,
    ray: RayOption = None,
) -> None:
    """Compile a responder against the bench metric; compare it with the unoptimized one on held-out personas.

    Flags left out take the `optimize` spec's defaults (`persona spec optimize` prints them).
    """
    flags = {
        "model": "models.responder.model",
        "judge": "models.judge.model",
        "reflection": "models.reflection.model",
        "budget": "max_metric_calls",
        "n": "n_personas",
    }
    run_kind("optimize", ctx, flags)
