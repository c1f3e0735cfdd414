"""The `persona` command line: parses, calls the library, prints. No logic lives here.

DSPy, litellm and pandas are imported inside the commands that use them, so that `persona --help` and a mistyped
flag answer at once. Every user mistake the library reports (the ``PersonaError`` family, or a spec that does not
validate) ends in one place, ``_Command.invoke``: one line naming the file, key or flag, and exit status 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import click
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperCommand

if TYPE_CHECKING:
    from rich.progress import Progress


EXIT_BAD_INPUT = 2
EXIT_FAILED_ITEMS = 1
EXIT_ABORTED = 3
console = Console()
errors = Console(stderr=True, soft_wrap=True)  # an error message stays one line, whole, for grep and logs


def _fail(message: str) -> NoReturn:
    errors.print(f"[bold red]error:[/] {escape(' '.join(message.split()))}", highlight=False)
    raise typer.Exit(code=EXIT_BAD_INPUT)


class _Command(TyperCommand):
    """A command whose user mistakes end as one line and exit 2, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from pydantic import ValidationError

        from persona.errors import PersonaError, validation_message

        try:
            return super().invoke(ctx)
        except PersonaError as exc:
            _fail(str(exc))
        except ValidationError as exc:
            flags = {param.name: param.opts[0] for param in self.params if param.name and param.opts}
            _fail(validation_message(exc, flags))


class _App(typer.Typer):
    """A Typer whose commands are ``_Command``s."""

    def command(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cls", _Command)
        return super().command(*args, **kwargs)


app = _App(
    help="persona-testbed: census-grounded personas, DPF preference pairs and PERSONA Bench on any LM.",
    no_args_is_help=True,
    add_completion=False,
)
personas_app = _App(help="Census-grounded persona populations.", no_args_is_help=True)
census_app = _App(help="ACS PUMS census files.", no_args_is_help=True)
prompts_app = _App(help="Prompt sets: curation and splits.", no_args_is_help=True)
app.add_typer(prompts_app, name="prompts")
pairs_app = _App(help="Per-persona DPF preference pairs: build, verify, export.", no_args_is_help=True)
app.add_typer(pairs_app, name="pairs")
app.add_typer(personas_app, name="personas")
app.add_typer(census_app, name="census")
bench_app = _App(help="PERSONA Bench: how well a model personalizes, judged by another.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
agreement_app = _App(help="Human/model agreement: kappa between annotators playing the same personas.")
agreement_app.no_args_is_help = True
app.add_typer(agreement_app, name="agreement")

OutOption = Annotated[
    Path | None, typer.Option("--out", help="Run dir for results (default: outputs/<spec name>).", show_default=False)
]


ConcurrencyOption = Annotated[
    int | None, typer.Option("--concurrency", min=1, help="Items in flight (default: the spec's run.concurrency).")
]
MaxFailuresOption = Annotated[
    int | None, typer.Option("--max-failures", min=1, help="Stop starting items once this many have failed.")
]


def rate_text(speed: float | None) -> str:
    """Items per second, or per minute or seconds per item when slow, so a slow model never reads as '0.1/s'."""
    if not speed:
        return ""
    if speed >= 1:
        return f"{speed:.1f}/s"
    if speed * 60 >= 1:
        return f"{speed * 60:.1f}/min"
    return f"{1 / speed:.0f} s/item"


def _progress() -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        Task,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        """Items per second, which rich's stock columns only show for bytes."""

        def render(self, task: Task) -> Text:
            return Text(rate_text(task.speed), style="progress.data.speed")

    class LazyProgress(Progress):
        """Draws nothing until the first task, so an input error found before any work prints its one line alone."""

        def __enter__(self) -> LazyProgress:
            return self

        def add_task(self, *args: Any, **kwargs: Any) -> Any:
            if not self.live.is_started:
                self.start()
            return super().add_task(*args, **kwargs)

        def stop(self) -> None:
            if self.live.is_started:
                super().stop()

    return LazyProgress(
        TextColumn("{task.description:<17}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
    )


def _exit(manifest: Any) -> None:
    """End with the run's exit status, saying why when it is not 0."""
    failed = sum(manifest.failures.values())
    if manifest.exit_code == EXIT_ABORTED:
        errors.print(f"[bold red]stopped early:[/] {failed} items failed or never ran (limit reached)")
    elif manifest.exit_code == EXIT_FAILED_ITEMS:
        errors.print(f"[yellow]{failed} items failed[/]; see their error field in the result files and run.log")
    if manifest.exit_code:
        raise typer.Exit(code=manifest.exit_code)


def _run_spec(
    spec_path: Path, out: Path | None, concurrency: int | None, max_failures: int | None, smoke: bool = False
) -> Any:
    from persona.runs import load_spec, run_spec

    spec = load_spec(spec_path, smoke=smoke)
    with _progress() as progress:
        result = run_spec(
            spec, out=out, spec_path=spec_path, progress=progress, concurrency=concurrency, max_failures=max_failures
        )
    manifest = result.manifest
    if spec.kind == "quickstart":
        rate = manifest.metrics["bench_pass_rate"]
        shown = "n/a" if rate["value"] is None else f"{rate['value']:.3f} [{rate['low']:.3f}, {rate['high']:.3f}]"
        console.print(f"[bold]{manifest.spec['name']}[/]: bench pass rate {shown} over {rate['n']} answers")
    console.print(
        f"[bold]{spec.kind}[/]: {manifest.model_calls} model calls, {manifest.cache_hits} cache hits, "
        f"{manifest.wall_time_s:.1f} s; results in [cyan]{result.run_dir}[/] (report.md, manifest.json)"
    )
    _exit(manifest)
    return result


@app.command("run")
def run_command(
    spec: Annotated[Path, typer.Argument(help="Run spec (TOML), e.g. runs/quickstart.toml.")],
    out: OutOption = None,
    concurrency: ConcurrencyOption = None,
    max_failures: MaxFailuresOption = None,
    smoke: Annotated[
        bool,
        typer.Option(help="Apply the spec's [smoke] table: small counts, the embedded model in roles it leaves out."),
    ] = False,
) -> None:
    """Execute a run spec of any kind (quickstart, personas, curation, pairs, bench, passk, loo, annotate, optimize).

    The spec's `kind` picks the experiment; every LM call is cached in the run dir, and running it again into the
    same run dir resumes an interrupted run. Exit code 0: every item succeeded;
    1: some items failed (each recorded with its error); 2: bad input; 3: stopped at --max-failures.
    """
    _run_spec(spec, out, concurrency, max_failures, smoke)


@app.command()
def quickstart(
    out: OutOption = None, concurrency: ConcurrencyOption = None, max_failures: MaxFailuresOption = None
) -> None:
    """Run the bundled quickstart spec on the embedded SmolLM2-135M model."""
    from persona.runs import quickstart_spec_path

    _run_spec(quickstart_spec_path(), out, concurrency, max_failures)


@app.command()
def models() -> None:
    """List backends and whether the embedded model is installed."""
    from persona.lm import list_backends

    table = Table("model string", "ready", "detail", title="Backends (any litellm model string works)")
    for backend in list_backends():
        table.add_row(backend.model, "[green]yes[/]" if backend.available else "[red]no[/]", backend.detail)
    console.print(table)


@personas_app.command("generate")
def personas_generate(
    source: Annotated[str, typer.Option(help="'acs12' (embedded ACS 2012 sample) or 'pums:PATH' (csv/zip/folder).")] = (
        "acs12"
    ),
    n: Annotated[int, typer.Option("--n", min=1, help="Personas to build.")] = 50,
    seed: Annotated[int, typer.Option(help="Everything random derives from it.")] = 0,
    model: Annotated[str | None, typer.Option(help="LM for the check and filling (default local/smollm2).")] = None,
    api_base: Annotated[str | None, typer.Option(help="Endpoint for --model, e.g. a vLLM server.")] = None,
    min_age: Annotated[int, typer.Option(min=0, help="Draw only people at least this old.")] = 0,
    check: Annotated[bool, typer.Option(help="LM consistency check; rejected profiles are redrawn.")] = True,
    max_draws: Annotated[int, typer.Option(min=1, help="Candidates per persona before it fails.")] = 5,
    fill: Annotated[bool, typer.Option(help="LM-written job description and profile details.")] = True,
    categories: Annotated[int, typer.Option(min=0, help="Open-ended profile categories per persona.")] = 2,
    dictionary: Annotated[Path | None, typer.Option(help="PUMS data dictionary CSV of the files' year.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Run dir (default: outputs/personas-...).")] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Personas in flight.")] = 1,
    max_failures: MaxFailuresOption = None,
) -> None:
    """Draw census-grounded personas, vet and fill them with an LM, and write the census fidelity report."""
    from persona.experiments.personas import PopulationSpec, generate, population_model

    spec = PopulationSpec(
        source=source,
        n=n,
        seed=seed,
        min_age=min_age,
        check=check,
        max_draws=max_draws,
        fill=fill,
        categories_per_persona=categories,
        dictionary=str(dictionary) if dictionary else None,
        model=population_model(model, api_base),
    )
    with _progress() as progress:
        result = generate(spec, out=out, progress=progress, concurrency=concurrency, max_failures=max_failures)
    m = result.manifest.metrics
    pruning = "" if m["pruning_rate"] is None else f"; pruned {m['pruning_rate']:.1%} of {m['profiles_checked']} drawn"
    console.print(
        f"{m['personas']} personas{pruning}; mean census TVD {m['fidelity_mean_tvd']}; "
        f"{result.manifest.model_calls} model calls, {result.manifest.wall_time_s:.1f} s"
    )
    console.print(f"results in [cyan]{result.run_dir}[/] (personas.jsonl, fidelity.md, report.md)")
    _exit(result.manifest)


@personas_app.command("report")
def personas_report(run_dir: Annotated[Path, typer.Argument(help="A `persona personas generate` run dir.")]) -> None:
    """Rewrite the census fidelity report (fidelity.md and PNG plots) of a population run."""
    from persona.experiments.personas import report

    results = report(run_dir)
    table = Table("attribute", "personas", "TVD", "p-value", title=f"Census fidelity: {run_dir}")
    for r in results:
        table.add_row(r.attribute, str(r.personas), f"{r.tvd:.3f}", f"{r.p_value:.3f}")
    console.print(table)
    console.print(f"written: [cyan]{run_dir / 'fidelity.md'}[/], {run_dir / 'fidelity'}/*.png")


@census_app.command("download")
def census_download(
    year: Annotated[int, typer.Option(help="ACS year, e.g. 2023.")],
    state: Annotated[str | None, typer.Option(help="Two-letter state code, e.g. CA.")] = None,
    national: Annotated[bool, typer.Option("--national", help="The whole US (several GB).")] = False,
    period: Annotated[str, typer.Option(help="'1-Year' or '5-Year'.")] = "1-Year",
    out: Annotated[Path, typer.Option("--out", help="Folder for the zips.")] = Path("outputs/pums"),
    base_url: Annotated[
        str | None, typer.Option(help="Mirror of the Census Bureau's PUMS tree (default: the Bureau's own).")
    ] = None,
) -> None:
    """Download the Census Bureau's PUMS person and housing csv zips (resumes partial downloads)."""
    from persona.data.download import download_pums

    paths = download_pums(year, out, state=state, national=national, period=period, base_url=base_url)
    for path in paths:
        console.print(f"[green]ok[/] {path}")
    console.print(f"use them with: persona personas generate --source pums:{out}")


@prompts_app.command("curate")
def prompts_curate(
    source: Annotated[
        str, typer.Option(help="'embedded', 'prism' (Hugging Face Hub), or a JSONL/CSV/Parquet file.")
    ] = ("embedded"),
    column: Annotated[str, typer.Option(help="Text column of a file source (PRISM JSONL: opening_prompt).")] = "text",
    seed: Annotated[int, typer.Option(help="Seed of the split.")] = 0,
    split: Annotated[str, typer.Option(help="train:held-out ratio, within each topic (paper: 3000:868).")] = "3000:868",
    model: Annotated[
        str | None, typer.Option(help="LM for the controversiality check (default local/smollm2).")
    ] = None,
    api_base: Annotated[str | None, typer.Option(help="Endpoint for --model.")] = None,
    classify: Annotated[bool, typer.Option(help="Run the LM controversiality check (and topic labels).")] = True,
    out: Annotated[Path | None, typer.Option("--out", help="Run dir (default: outputs/prompts-...).")] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Prompts in flight.")] = 1,
) -> None:
    """Filter (question mark, five words), de-duplicate, LM-classify and split a prompt set; every drop is listed."""
    from persona.experiments.curation import CurationSpec, curate
    from persona.lm import ModelConfig

    train, _, heldout = split.partition(":")
    if not (train.strip().isdigit() and heldout.strip().isdigit() and int(train) > 0 and int(heldout) > 0):
        _fail(f"--split must be two positive whole numbers, train:held-out, such as 3000:868; got {split!r}")
    config = ModelConfig(model=model or ModelConfig().model, api_base=api_base, max_tokens=96)
    spec = CurationSpec(
        source=source,
        column=column,
        seed=seed,
        train=int(train),
        heldout=int(heldout),
        classify=classify,
        model=config,
    )
    with _progress() as progress:
        result = curate(spec, out=out, progress=progress, concurrency=concurrency)
    steps = ", ".join(f"{step} {n}" for step, n in result.manifest.metrics["counts"].items())
    console.print(f"{steps}; {result.manifest.metrics['train']} train, {result.manifest.metrics['heldout']} held out")
    console.print(f"results in [cyan]{result.run_dir}[/] (prompts.jsonl, dropped.jsonl, curation.md, topics.png)")
    _exit(result.manifest)


@pairs_app.command("generate")
def pairs_generate(
    personas: Annotated[str, typer.Option(help="'acs12', 'pums:PATH', or a personas.jsonl / its run dir.")] = "acs12",
    n_personas: Annotated[int, typer.Option(min=1, help="Personas drawn from a census source.")] = 10,
    prompts: Annotated[str, typer.Option(help="'embedded' or a `persona prompts curate` run dir.")] = "embedded",
    train: Annotated[int, typer.Option(min=0, help="Train pairs per persona (paper: 100).")] = 100,
    test_seen: Annotated[int, typer.Option(min=0, help="Seen-prompt test pairs per persona (paper: 50).")] = 50,
    heldout: Annotated[int, typer.Option(min=0, help="Held-out-prompt pairs per persona (paper: 50).")] = 50,
    seed: Annotated[int, typer.Option(help="Everything random derives from it.")] = 0,
    model: Annotated[str | None, typer.Option(help="Generator model (default local/smollm2).")] = None,
    critic: Annotated[str | None, typer.Option(help="Persona critic model (default: the generator's).")] = None,
    annotator: Annotated[str | None, typer.Option(help="Role-play verifier model (default: the generator's).")] = None,
    verify: Annotated[bool, typer.Option(help="Role-play verification of every pair.")] = True,
    out: Annotated[Path | None, typer.Option("--out", help="Run dir (default: outputs/pairs-...).")] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Pairs in flight.")] = 1,
) -> None:
    """Build DPF pairs per persona (train / seen-test / held-out prompts), verify them by role-play, report."""
    from persona.experiments.pairs import PairsSpec, generate_pairs
    from persona.lm import ModelConfig

    default = model or ModelConfig().model
    models = {
        role: ModelConfig(model=name or default, max_tokens=200)
        for role, name in (("generator", model), ("persona", critic), ("judge", annotator))
    }
    spec = PairsSpec(
        personas=personas,
        n_personas=n_personas,
        prompts=prompts,
        train=train,
        test_seen=test_seen,
        heldout=heldout,
        seed=seed,
        verify=verify,
        models=models,
    )
    with _progress() as progress:
        result = generate_pairs(spec, out=out, progress=progress, concurrency=concurrency)
    m = result.manifest.metrics
    counts = ", ".join(f"{n} {split}" for split, n in m["pairs"].items())
    console.print(f"pairs: {counts}; {m['pairs_failed']} failed; {result.manifest.model_calls} model calls")
    _print_estimates(
        "DPF pairs", {"chosen shorter": m["shorter"], "annotator agrees with chosen": m["agreement_with_chosen"]}
    )
    console.print(f"results in [cyan]{result.run_dir}[/] (pairs.jsonl, verification.jsonl, report.md)")
    _exit(result.manifest)


@pairs_app.command("export")
def pairs_export(
    run_dir: Annotated[Path, typer.Argument(help="A `persona pairs generate` run dir.")],
    fmt: Annotated[str, typer.Option("--format", help="parquet (one file per split), hf or trl.")] = "parquet",
    out: Annotated[Path | None, typer.Option("--out", help="Folder (default: RUN_DIR/export).")] = None,
) -> None:
    """Export the pairs: Parquet per split, a Hugging Face DatasetDict, or TRL DPO JSONL (persona as system)."""
    from persona.data.export import export_pairs

    paths = export_pairs(run_dir, fmt, out or run_dir / "export")
    for path in paths:
        console.print(f"[green]written[/] {path}")


PersonasOption = Annotated[str, typer.Option(help="'acs12', 'pums:PATH', or a personas.jsonl / its run dir.")]
PromptsOption = Annotated[str, typer.Option(help="'embedded' or a `persona prompts curate` run dir.")]
SplitOption = Annotated[str, typer.Option(help="Prompts to ask: 'heldout', 'train' or 'all'.")]


def _print_estimates(title: str, rows: dict[str, dict]) -> None:
    table = Table(title=title)
    for column in ("", "value", "95% CI", "n"):
        table.add_column(column)
    for name, e in rows.items():
        shown = "n/a" if e["value"] is None else f"{e['value']:.3f}"
        ci = "" if e["low"] is None else f"[{e['low']:.3f}, {e['high']:.3f}]"
        table.add_row(name, shown, ci, str(e["n"]))
    console.print(table)


TestedModelOption = Annotated[str | None, typer.Option(help="Model under test (default local/smollm2).")]
JudgeOption = Annotated[
    str | None, typer.Option(help="Judge model (default local/smollm2, whatever the model under test is).")
]
MaxTokensOption = Annotated[int, typer.Option(min=1, help="Answer length cap for the model under test.")]
JudgeApiBaseOption = Annotated[str | None, typer.Option(help="Endpoint for --judge.")]


def _tested_and_judge(
    model: str | None, judge: str | None, api_base: str | None, judge_api_base: str | None, max_tokens: int
) -> dict[str, Any]:
    """The responder and judge roles; the judge is the one named by --judge, never silently the model under test."""
    from persona.lm import model_config

    return {
        "responder": model_config(model, api_base, max_tokens),
        "judge": model_config(judge, judge_api_base, 160),
    }


@bench_app.command("run")
def bench_run(
    model: TestedModelOption = None,
    judge: JudgeOption = None,
    modes: Annotated[str, typer.Option(help="Comma-separated: baseline, no_cot, cot, summary; or 'all'.")] = "all",
    n: Annotated[int, typer.Option("--n", min=1, help="Personas drawn from a census source.")] = 20,
    questions: Annotated[int, typer.Option(min=1, help="Questions per persona.")] = 5,
    personas: PersonasOption = "acs12",
    prompts: PromptsOption = "embedded",
    split: SplitOption = "heldout",
    seed: Annotated[int, typer.Option(help="Everything random derives from it.")] = 0,
    subtlety: Annotated[bool, typer.Option(help="Also judge whether answers name the persona's attributes.")] = True,
    summary_analysis: Annotated[bool, typer.Option(help="Summary mode: find the attributes summaries drop.")] = True,
    slices: Annotated[
        list[str] | None, typer.Option("--slice", help="Intersection to report, e.g. 'sex == \"Female\" and age < 35'.")
    ] = None,
    max_tokens: MaxTokensOption = 200,
    api_base: Annotated[str | None, typer.Option(help="Endpoint for --model.")] = None,
    judge_api_base: JudgeApiBaseOption = None,
    program: Annotated[
        Path | None, typer.Option(help="A `persona optimize` program.json, evaluated as an extra mode 'program'.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Run dir (default: outputs/bench-<model>-seed<seed>).")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Items in flight.")] = 1,
) -> None:
    """Answer every persona x question in each mode, judge each answer, report accuracy per mode with CIs."""
    from persona.experiments.bench import BenchSpec, run_bench

    spec = BenchSpec(
        personas=personas,
        n_personas=n,
        prompts=prompts,
        split=split,
        questions=questions,
        seed=seed,
        modes=[mode.strip() for mode in modes.split(",")],
        subtlety=subtlety,
        summary_analysis=summary_analysis,
        slices=slices or [],
        program=str(program) if program else None,
        models=_tested_and_judge(model, judge, api_base, judge_api_base, max_tokens),
    )
    with _progress() as progress:
        result = run_bench(spec, out=out, progress=progress, concurrency=concurrency)
    m = result.manifest.metrics
    _print_estimates("accuracy per mode", {mode: row["accuracy"] for mode, row in m["modes"].items()})
    console.print(
        f"{result.manifest.model_calls} model calls, {result.manifest.cache_hits} cache hits; "
        f"results in [cyan]{result.run_dir}[/] (bench.jsonl/.parquet, report.md, accuracy.png)"
    )
    _exit(result.manifest)


@bench_app.command("passk")
def bench_passk(
    model: TestedModelOption = None,
    judge: JudgeOption = None,
    mode: Annotated[str, typer.Option(help="Responder mode: baseline, no_cot, cot or summary.")] = "no_cot",
    n: Annotated[int, typer.Option("--n", min=1, help="Personas drawn from a census source.")] = 10,
    questions: Annotated[int, typer.Option(min=1, help="Questions per persona (items = personas x questions).")] = 1,
    samples: Annotated[int, typer.Option(min=1, help="Independent answers per item (n of pass@k).")] = 16,
    k_max: Annotated[int, typer.Option(min=1, help="Largest k reported; at most --samples.")] = 16,
    temperature: Annotated[float, typer.Option(min=0.01, help="Sampling temperature of the model under test.")] = 0.7,
    personas: PersonasOption = "acs12",
    prompts: PromptsOption = "embedded",
    split: SplitOption = "heldout",
    seed: Annotated[int, typer.Option(help="Everything random derives from it.")] = 0,
    max_tokens: MaxTokensOption = 200,
    api_base: Annotated[str | None, typer.Option(help="Endpoint for --model.")] = None,
    judge_api_base: JudgeApiBaseOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Run dir (default: outputs/passk-<model>-seed<seed>).")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Items in flight.")] = 1,
) -> None:
    """pass@k for k = 1..k_max: n independent answers per item, each judged on its own, unbiased estimator."""
    from persona.experiments.passk import PassKSpec, run_passk

    spec = PassKSpec(
        personas=personas,
        n_personas=n,
        prompts=prompts,
        split=split,
        questions=questions,
        seed=seed,
        mode=mode,
        samples=samples,
        k_max=k_max,
        temperature=temperature,
        models=_tested_and_judge(model, judge, api_base, judge_api_base, max_tokens),
    )
    with _progress() as progress:
        result = run_passk(spec, out=out, progress=progress, concurrency=concurrency)
    curve = result.manifest.metrics["curve"]
    console.print("pass@k: " + ", ".join(f"k={k} {v:.3f}" for k, v in curve.items() if v is not None))
    console.print(f"{result.manifest.model_calls} model calls; results in [cyan]{result.run_dir}[/] (passk.png)")
    _exit(result.manifest)


@bench_app.command("loo")
def bench_loo(
    annotator: Annotated[str | None, typer.Option(help="Role-play annotator model (default local/smollm2).")] = None,
    model: Annotated[str | None, typer.Option(help="Model writing the two answers (default: the annotator's).")] = None,
    attributes: Annotated[
        str | None, typer.Option(help="Comma-separated attributes (default: every known one).")
    ] = None,
    pairs: Annotated[int, typer.Option(min=1, help="Persona pairs per attribute (paper: 40).")] = 40,
    base_size: Annotated[int, typer.Option(min=1, help="Attributes of a persona without the left-out one.")] = 3,
    questions: Annotated[int, typer.Option(min=2, help="Preference questions per persona (paper: 20).")] = 20,
    answers: Annotated[str, typer.Option(help="'generate' or a JSONL of id, question, answer_a, answer_b.")] = (
        "generate"
    ),
    pool: Annotated[int, typer.Option(min=1, help="Census personas the pairs are drawn from.")] = 200,
    personas: PersonasOption = "acs12",
    prompts: PromptsOption = "embedded",
    split: SplitOption = "heldout",
    seed: Annotated[int, typer.Option(help="Everything random derives from it.")] = 0,
    api_base: Annotated[str | None, typer.Option(help="Endpoint for --annotator.")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Run dir (default: outputs/loo-<annotator>-seed<seed>).")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Annotations in flight.")] = 1,
) -> None:
    """Leave-one-out: kappa between personas with and without each attribute, per pair; box plot per attribute."""
    from persona.experiments.loo import LooSpec, run_loo
    from persona.lm import model_config

    spec = LooSpec(
        personas=personas,
        n_personas=pool,
        prompts=prompts,
        split=split,
        questions=questions,
        seed=seed,
        attributes=[a.strip() for a in attributes.split(",")] if attributes else [],
        pairs=pairs,
        base_size=base_size,
        answers=answers,
        models={
            "annotator": model_config(annotator, api_base, 160),
            "responder": model_config(model or annotator, None if model else api_base, 200),
        },
    )
    with _progress() as progress:
        result = run_loo(spec, out=out, progress=progress, concurrency=concurrency)
    table = Table(title="kappa per pair, without vs with the attribute")
    for column in ("attribute", "pairs", "defined", "median", "mean"):
        table.add_column(column)
    for name, row in result.manifest.metrics["attributes"].items():
        shown = [("n/a" if row[k] is None else f"{row[k]:.3f}") for k in ("median", "mean")]
        table.add_row(name, str(row["pairs"]), str(row["defined"]), *shown)
    console.print(table)
    console.print(f"{result.manifest.model_calls} model calls; results in [cyan]{result.run_dir}[/] (loo.png)")
    _exit(result.manifest)


@bench_app.command("slices")
def bench_slices(
    run_dir: Annotated[Path, typer.Argument(help="A `persona bench run` or `bench passk` run dir.")],
    slices: Annotated[list[str], typer.Option("--slice", help="Predicate, e.g. 'sex == \"Female\" and age < 35'.")],
    out: Annotated[Path | None, typer.Option("--out", help="Folder (default: RUN_DIR/slices).")] = None,
) -> None:
    """Accuracy per intersection of attributes, with CIs and slice sizes (syntax: see persona.metrics.slices)."""
    from persona.reports.bench import run_slices

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
    from persona.reports.bench import report_runs

    paths = report_runs(run_dirs, out)
    for path in paths:
        console.print(f"[green]written[/] {path}")


@agreement_app.command("compute")
def agreement_compute(
    files: Annotated[
        list[Path], typer.Argument(help="Annotation CSV/JSONL files: annotator, persona_id, item_id, choice.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder for the matrices, plots and agreement.md.")] = Path(
        "outputs/agreement"
    ),
) -> None:
    """Pairwise Cohen's kappa between annotators: pooled matrix and per-persona histograms (Figures 6 to 9)."""
    from persona.experiments.agreement import load_annotations, write_agreement

    result = write_agreement(load_annotations(files), out, [str(f) for f in files])
    console.print(result.matrix.round(3).to_string())
    console.print(f"results in [cyan]{out}[/] (agreement.md, kappa_matrix.png, kappa_hist.png)")


@agreement_app.command("annotate")
def agreement_annotate(
    items: Annotated[
        Path, typer.Option(help="JSONL of id, question, answer_a, answer_b (e.g. a LOO questions.jsonl).")
    ],
    personas: Annotated[str, typer.Option(help="A personas.jsonl or its run dir (ids must match the annotations).")],
    model: Annotated[str | None, typer.Option(help="Role-play annotator (default local/smollm2).")] = None,
    api_base: Annotated[str | None, typer.Option(help="Endpoint for --model.")] = None,
    like: Annotated[Path | None, typer.Option(help="Annotate exactly the (persona, item) rows of this file.")] = None,
    name: Annotated[str | None, typer.Option(help="Annotator label (default: the model string).")] = None,
    temperature: Annotated[float, typer.Option(min=0, max=2, help="Sampling temperature of the annotator.")] = 0.0,
    out: Annotated[
        Path | None, typer.Option("--out", help="Run dir (default: outputs/annotations-<name>-seed<seed>).")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Annotations in flight.")] = 1,
) -> None:
    """Model annotations by role-play, in the same format as human ones, ready for `persona agreement compute`."""
    from persona.experiments.agreement import AnnotateSpec, annotate
    from persona.lm import model_config

    spec = AnnotateSpec(
        items=str(items),
        personas=personas,
        like=str(like) if like else None,
        name=name,
        model=model_config(model, api_base, 160).model_copy(update={"temperature": temperature}),
    )
    with _progress() as progress:
        result = annotate(spec, out, progress=progress, concurrency=concurrency)
    manifest = result.manifest
    path = result.run_dir / "annotations.jsonl"
    console.print(f"{manifest.metrics['annotated']} annotations, {manifest.model_calls} model calls: [cyan]{path}[/]")
    _exit(manifest)


@app.command("optimize")
def optimize_command(
    mode: Annotated[str, typer.Option(help="Responder mode to optimize: no_cot, cot or summary.")] = "cot",
    optimizer: Annotated[str, typer.Option(help="bootstrap (BootstrapFewShot), mipro (MIPROv2) or gepa (GEPA).")] = (
        "bootstrap"
    ),
    model: Annotated[str | None, typer.Option(help="Model being optimized (default local/smollm2).")] = None,
    judge: Annotated[str | None, typer.Option(help="Judge model behind the metric (default local/smollm2).")] = None,
    reflection: Annotated[str | None, typer.Option(help="GEPA's reflection model (default: the judge's).")] = None,
    metric: Annotated[str, typer.Option(help="judge (the bench judge) or proxy (LM-free checks, cheap).")] = "judge",
    budget: Annotated[int, typer.Option(min=1, help="Metric calls for GEPA; MIPROv2 runs budget/10 trials.")] = 40,
    train: Annotated[int, typer.Option(min=1, help="Trainset: train personas x train prompts.")] = 8,
    val: Annotated[int, typer.Option(min=0, help="Valset, disjoint from the trainset.")] = 4,
    eval_items: Annotated[int, typer.Option(min=1, help="Held-out items per evaluation set.")] = 20,
    max_demos: Annotated[int, typer.Option(min=0, help="Bootstrapped demos per predictor.")] = 2,
    n: Annotated[int, typer.Option("--n", min=2, help="Personas drawn, then split train / held-out.")] = 20,
    heldout_personas: Annotated[float, typer.Option(min=0.01, max=0.99, help="Share of personas held out.")] = 0.3,
    personas: PersonasOption = "acs12",
    prompts: PromptsOption = "embedded",
    seed: Annotated[int, typer.Option(help="Everything random derives from it.")] = 0,
    threads: Annotated[int, typer.Option(min=1, help="Optimizer threads (MIPROv2, GEPA).")] = 1,
    out: Annotated[Path | None, typer.Option("--out", help="Run dir (default: outputs/optimize-...).")] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Evaluation items in flight.")] = 1,
) -> None:
    """Compile a responder against the bench metric; compare it with the unoptimized one on held-out personas."""
    from persona.experiments.optimize import OptimizeSpec, run_optimize
    from persona.lm import model_config

    judge_config = model_config(judge, None, 160)
    spec = OptimizeSpec(
        personas=personas,
        n_personas=n,
        heldout_personas=heldout_personas,
        prompts=prompts,
        seed=seed,
        mode=mode,
        optimizer=optimizer,
        metric=metric,
        train=train,
        val=val,
        eval_items=eval_items,
        max_demos=max_demos,
        max_metric_calls=budget,
        threads=threads,
        models={
            "responder": model_config(model, None, 200),
            "judge": judge_config,
            "reflection": model_config(reflection, None, 400) if reflection else judge_config,
        },
    )
    with _progress() as progress:
        result = run_optimize(spec, out=out, progress=progress, concurrency=concurrency)
    for split, row in result.manifest.metrics["sets"].items():
        _print_estimates(f"{split}: accuracy", {p: row[p] for p in ("baseline", "optimized")})
        console.print(f"paired (McNemar exact) p = {row['paired']['p_value']:.3f}")
    console.print(f"{result.manifest.model_calls} model calls; results in [cyan]{result.run_dir}[/] (program.json)")
    _exit(result.manifest)
