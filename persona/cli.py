"""The `persona` command line: parses, calls the library, prints. No logic lives here."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from persona.lm import LocalModelError, ModelStringError, list_backends
from persona.runs import RunResult, SpecError, load_spec, quickstart_spec_path, run

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


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description:<17}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
    )


def _run_spec(spec_path: Path, out: Path | None) -> RunResult:
    try:
        spec = load_spec(spec_path)
        with _progress() as progress:
            result = run(spec, out=out, spec_path=spec_path, progress=progress)
    except (SpecError, ModelStringError, LocalModelError) as exc:
        _fail(str(exc))
    manifest = result.manifest
    rate = manifest.metrics["bench_pass_rate"]
    shown = "n/a" if rate["value"] is None else f"{rate['value']:.3f} [{rate['low']:.3f}, {rate['high']:.3f}]"
    console.print(
        f"[bold]{manifest.spec['name']}[/]: bench pass rate {shown} over {rate['n']} answers; "
        f"{manifest.model_calls} model calls, {manifest.cache_hits} cache hits, {manifest.wall_time_s:.1f} s"
    )
    failed = sum(manifest.failures.values())
    if failed:
        console.print(f"[yellow]{failed} items failed; see the error field in the JSONL files[/]")
    console.print(f"results in [cyan]{result.run_dir}[/] (report.md, manifest.json)")
    return result


@app.command("run")
def run_command(
    spec: Annotated[Path, typer.Argument(help="Run spec (TOML), e.g. runs/quickstart.toml.")],
    out: OutOption = None,
) -> None:
    """Execute a run spec: personas, prompts, DPF pairs and bench results, all cached in the run dir."""
    _run_spec(spec, out)


@app.command()
def quickstart(out: OutOption = None) -> None:
    """Run the bundled quickstart spec on the embedded SmolLM2-135M model."""
    _run_spec(quickstart_spec_path(), out)


@app.command()
def models() -> None:
    """List backends and whether the embedded model is installed."""
    table = Table("model string", "ready", "detail", title="Backends (any litellm model string works)")
    for backend in list_backends():
        table.add_row(backend.model, "[green]yes[/]" if backend.available else "[red]no[/]", backend.detail)
    console.print(table)
