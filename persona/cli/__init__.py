"""The `persona` command line: parses flags into specs, calls the library, prints. No logic or defaults live here.

DSPy, litellm and pandas are imported inside the commands that use them, so that `persona --help` and a mistyped
flag answer at once. Every user mistake the library reports (the ``PersonaError`` family, or a spec that does not
validate) ends as one line naming the file, key or flag, and exit status 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from persona.cli.annotate import annotate_app
from persona.cli.base import (
    App,
    ConcurrencyOption,
    MaxFailuresOption,
    OutOption,
    RayOption,
    WorkersOption,
    console,
    execute,
    rate_text,
)
from persona.cli.bench import add_optimize_command, agreement_app, bench_app, prefs_app
from persona.cli.data import census_app, pairs_app, personas_app, prompts_app
from persona.cli.survey import survey_app

app = App(help="persona-testbed: census-grounded personas, DPF preference pairs and PERSONA Bench on any LM.")
app.add_typer(personas_app, name="personas")
app.add_typer(census_app, name="census")
app.add_typer(prompts_app, name="prompts")
app.add_typer(pairs_app, name="pairs")
app.add_typer(bench_app, name="bench")
app.add_typer(agreement_app, name="agreement")
app.add_typer(prefs_app, name="prefs")
app.add_typer(annotate_app, name="annotate")
app.add_typer(survey_app, name="survey")
__all__ = ["app", "rate_text"]


@app.command("run")
def run_command(
    ctx: typer.Context,
    spec: Annotated[Path, typer.Argument(help="Run spec (TOML), e.g. runs/quickstart.toml or runs/paper/bench.toml.")],
    out: OutOption = None,
    concurrency: ConcurrencyOption = None,
    max_failures: MaxFailuresOption = None,
    workers: WorkersOption = None,
    ray: RayOption = None,
    smoke: Annotated[
        bool,
        typer.Option(help="Apply the spec's \\[smoke] table: small counts, the embedded model in roles it leaves out."),
    ] = False,
) -> None:
    """Execute a run spec of any kind: a built-in one (`persona spec KIND` prints its defaults), or your own.

    The spec's `kind` picks the experiment: an installed kind's name, or an import path to a Kind.

    Every LM call is cached in the run dir; running again into the same run dir resumes an interrupted run.

    Exit codes: 0 every item succeeded, 1 some failed (each recorded with its error), 2 bad input, 3 --max-failures.
    """
    from persona.runs import load_spec

    execute(load_spec(spec, smoke=smoke), ctx.params, spec_path=spec)


@app.command()
def quickstart(
    ctx: typer.Context,
    out: OutOption = None,
    concurrency: ConcurrencyOption = None,
    max_failures: MaxFailuresOption = None,
    workers: WorkersOption = None,
    ray: RayOption = None,
) -> None:
    """Run the bundled quickstart spec on the embedded SmolLM2-135M model."""
    from persona.runs import load_spec, quickstart_spec_path

    execute(load_spec(quickstart_spec_path()), ctx.params, spec_path=quickstart_spec_path())


@app.command("spec")
def spec_command(kind: Annotated[str, typer.Argument(help="A kind of run, e.g. bench or pairs.")]) -> None:
    """Print a kind's spec with every default filled in, as TOML that `persona run` accepts: a start for your own."""
    from persona.runs.spec import default_spec_toml

    print(default_spec_toml(kind), end="")


@app.command("kinds")
def kinds_command() -> None:
    """List the kinds of run installed (this package's and those other packages declare), with their spec classes."""
    from persona.runs import get_kind, kind_names

    table = Table("kind", "spec class", "what it is", title="Kinds (`persona spec KIND` prints one's defaults)")
    for name in kind_names():
        kind = get_kind(name)
        doc = (kind.spec.__doc__ or "").strip().splitlines()[0] if kind.spec.__doc__ else ""
        table.add_row(name, f"{kind.spec.__module__}.{kind.spec.__qualname__}", doc)
    console.print(table)


add_optimize_command(app)


@app.command()
def models() -> None:
    """List backends and whether the embedded model is installed."""
    from persona.lm import list_backends

    table = Table("model string", "ready", "detail", title="Backends (any litellm model string works)")
    for backend in list_backends():
        table.add_row(backend.model, "[green]yes[/]" if backend.available else "[red]no[/]", backend.detail)
    console.print(table)
