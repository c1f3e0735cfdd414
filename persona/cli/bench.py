"""Commands that evaluate: PERSONA Bench (main, pass@k, leave-one-out), reports, agreement, optimization."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from persona.cli.base import App, console, given
from persona.cli.flags import Flag, add_kind_command, csv, model_flags

bench_app = App(help="PERSONA Bench: how well a model personalizes, judged by another.")
agreement_app = App(help="Human/model agreement: kappa between annotators playing the same personas.")
prefs_app = App(help="Preference prediction: which answer each persona prefers, and which groups a predictor fails.")

# The model under test and its judge: the judge is the one --judge names, never silently the model under test.
TESTED_AND_JUDGE = (
    model_flags("models.responder", "model", "model under test")
    | model_flags("models.judge", "judge", "judge model (never silently the model under test)", "judge_api_base")
    | {
        "max_tokens": Flag("models.responder.max_tokens", help="answer length cap for the model under test"),
        "n": Flag("n_personas"),
    }
)
INPUTS = "personas n prompts split questions seed"

add_kind_command(
    bench_app,
    "run",
    "bench",
    f"model judge modes {INPUTS} subtlety summary_analysis slices history history_k max_tokens api_base judge_api_base "
    "program",
    TESTED_AND_JUDGE
    | {"modes": csv("modes"), "slices": Flag("slices", option="--slice"), "history_k": csv("history_k")},
    doc="Answer every persona x question in each mode, judge each answer, report accuracy per mode with CIs.",
)

add_kind_command(
    bench_app,
    "passk",
    "passk",
    f"model judge mode history {INPUTS} samples k_max temperature max_tokens api_base judge_api_base",
    TESTED_AND_JUDGE,
    doc="pass@k for k = 1..k_max: n independent answers per item, each judged on its own, unbiased estimator.",
)

add_kind_command(
    bench_app,
    "elicit",
    "elicit",
    f"model judge user turns asker ceiling groups min_group_size {INPUTS} max_tokens api_base judge_api_base",
    TESTED_AND_JUDGE
    | {
        "user": Flag("models.user.model", help="simulated person (default: the judge's backend)"),
        "turns": csv("turns"),
        "groups": csv("groups"),
    },
    doc="Ask before answering: accuracy per clarifying-question budget between the blind baseline (0) and the "
    "full-profile ceiling, with the simulated person's leaks per turn.",
)

add_kind_command(
    bench_app,
    "loo",
    "loo",
    "annotator model attributes pairs base_size questions method answers pool personas prompts split seed api_base",
    model_flags("models.annotator", "annotator", "role-play annotator")
    | {
        "model": Flag("models.responder.model", help="model writing the answers"),
        "attributes": csv("attributes"),
        "pool": Flag("n_personas", help="census personas the pairs are drawn from"),
    },
    doc="Leave-one-out: kappa between personas with and without each attribute, per pair; box plot per attribute.",
)


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


add_kind_command(
    agreement_app,
    "annotate",
    "annotate",
    "items personas model api_base like name temperature",
    model_flags("model", "model", "role-play annotator") | {"temperature": Flag("model.temperature")},
    doc="Model annotations by role-play, in the same format as human ones, ready for `persona agreement compute`.",
)


def add_optimize_command(app: typer.Typer) -> None:
    """``persona optimize`` sits at the top level; its flags are the optimize spec's."""
    add_kind_command(
        app,
        "optimize",
        "optimize",
        "mode optimizer model judge reflection metric budget train val eval_items max_demos n heldout_personas "
        "personas prompts history seed threads",
        {
            "model": Flag("models.responder.model", help="model being optimized"),
            "judge": Flag("models.judge.model", help="judge behind the metric"),
            "reflection": Flag("models.reflection.model", help="MIPROv2/GEPA reflection model"),
            "budget": Flag("max_metric_calls"),
            "n": Flag("n_personas"),
        },
        doc="Compile a responder against the bench metric; compare it with the unoptimized one on held-out personas.",
    )


add_kind_command(
    prefs_app,
    "run",
    "prefs",
    "pairs split predictors history_k order sets groups min_group_size max_pairs resamples seed model api_base",
    model_flags("models.predictor", "model", "model of the built-in predictors (and of plug-ins' DSPy calls)")
    | {"predictors": csv("predictors"), "sets": csv("sets"), "groups": csv("groups")},
    doc="Predict each persona's preferred answer (profile, blind, history, or yours) on standard and contrast "
    "pairs; accuracy per split and census group with persona-clustered CIs.",
)

add_kind_command(
    agreement_app,
    "diversity",
    "diversity",
    "personas items n_personas n_items min_split homogeneous_below seed model api_base",
    model_flags("model", "model", "role-play annotator"),
    doc="Do the personas disagree? Role-play many personas on the same questions: kappa matrix, pairwise agreement, "
    "share of questions split 30/70 or closer; flags a homogeneous population.",
)
