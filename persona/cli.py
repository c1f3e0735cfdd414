"""The `persona` command line: parses, calls the library, prints. No logic lives here."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
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
from rich.table import Table
from rich.text import Text

from persona.lm import LocalModelError, ModelStringError, list_backends
from persona.runs import LogCorruptError, RunDirError, RunResult, SpecError, load_spec, quickstart_spec_path, run

app = typer.Typer(
    help="persona-testbed: census-grounded personas, DPF preference pairs and PERSONA Bench on any LM.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
errors = Console(stderr=True)

OutOption = Annotated[
    Path | None, typer.Option("--out", help="Run dir for results (default: outputs/<spec name>).", show_default=False)
]


def _fail(message: str) -> None:
    errors.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code=2)


ConcurrencyOption = Annotated[
    int | None, typer.Option("--concurrency", min=1, help="Items in flight (default: the spec's run.concurrency).")
]
MaxFailuresOption = Annotated[
    int | None, typer.Option("--max-failures", min=1, help="Stop starting items once this many have failed.")
]
EXIT_FAILED_ITEMS = 1
EXIT_ABORTED = 3


class RateColumn(ProgressColumn):
    """Items per second, which rich's stock columns only show for bytes."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:.1f}/s" if task.speed else "-/s", style="progress.data.speed")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description:<17}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
    )


def _run_spec(spec_path: Path, out: Path | None, concurrency: int | None, max_failures: int | None) -> RunResult:
    try:
        spec = load_spec(spec_path)
        with _progress() as progress:
            result = run(
                spec,
                out=out,
                spec_path=spec_path,
                progress=progress,
                concurrency=concurrency,
                max_failures=max_failures,
            )
    except (SpecError, ModelStringError, LocalModelError, RunDirError, LogCorruptError) as exc:
        _fail(str(exc))
    manifest = result.manifest
    rate = manifest.metrics["bench_pass_rate"]
    shown = "n/a" if rate["value"] is None else f"{rate['value']:.3f} [{rate['low']:.3f}, {rate['high']:.3f}]"
    console.print(
        f"[bold]{manifest.spec['name']}[/]: bench pass rate {shown} over {rate['n']} answers; "
        f"{manifest.model_calls} model calls, {manifest.cache_hits} cache hits, {manifest.wall_time_s:.1f} s"
    )
    failed = sum(manifest.failures.values())
    console.print(f"results in [cyan]{result.run_dir}[/] (report.md, manifest.json)")
    if manifest.aborted:
        errors.print(f"[bold red]stopped early:[/] {failed} items failed or never ran (limit reached)")
        raise typer.Exit(code=EXIT_ABORTED)
    if failed:
        errors.print(f"[yellow]{failed} items failed[/]; see their error field in the JSONL files and run.log")
        raise typer.Exit(code=EXIT_FAILED_ITEMS)
    return result


@app.command("run")
def run_command(
    spec: Annotated[Path, typer.Argument(help="Run spec (TOML), e.g. runs/quickstart.toml.")],
    out: OutOption = None,
    concurrency: ConcurrencyOption = None,
    max_failures: MaxFailuresOption = None,
) -> None:
    """Execute a run spec: personas, prompts, DPF pairs and bench results, all cached in the run dir.

    Running it again into the same run dir resumes an interrupted run. Exit code 0: every item succeeded;
    1: some items failed (each recorded with its error); 2: bad input; 3: stopped at --max-failures.
    """
    _run_spec(spec, out, concurrency, max_failures)


@app.command()
def quickstart(
    out: OutOption = None, concurrency: ConcurrencyOption = None, max_failures: MaxFailuresOption = None
) -> None:
    """Run the bundled quickstart spec on the embedded SmolLM2-135M model."""
    _run_spec(quickstart_spec_path(), out, concurrency, max_failures)


@app.command()
def models() -> None:
    """List backends and whether the embedded model is installed."""
    table = Table("model string", "ready", "detail", title="Backends (any litellm model string works)")
    for backend in list_backends():
        table.add_row(backend.model, "[green]yes[/]" if backend.available else "[red]no[/]", backend.detail)
    console.print(table)
