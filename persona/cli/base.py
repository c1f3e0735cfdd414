"""What every command shares: one-line errors, the progress display, and running a spec with its summary.

A kind's subcommand builds its flags from the spec's fields (``persona.cli.flags``) and passes on only the flags
the user gave, so the command line and a spec file can never disagree about a default: there is only the spec's.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperCommand

if TYPE_CHECKING:
    from rich.progress import Progress

EXIT_BAD_INPUT = 2
EXIT_FAILED_ITEMS = 1
EXIT_ABORTED = 3
EXECUTION_FLAGS = ("out", "concurrency", "max_failures", "workers", "ray")  # where and how a run goes, never what
LOCAL_RAY = "local"  # `--ray` alone: start Ray on this machine
# Text we print carries import paths and model strings ("pkg:X: ..."): never read ":name:" in it as an emoji code.
console = Console(emoji=False)
errors = Console(stderr=True, soft_wrap=True, emoji=False)  # an error message stays one line, whole, for grep and logs


def fail(message: str) -> NoReturn:
    errors.print(f"[bold red]error:[/] {escape(' '.join(message.split()))}", highlight=False)
    raise typer.Exit(code=EXIT_BAD_INPUT)


class _Command(TyperCommand):
    """A command whose user mistakes end as one line and exit 2, never a traceback."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # typer may vendor click: its Context
        # `--ray` takes an optional address, which click cannot say through Typer: alone, it means local Ray.
        args = list(args)
        for at, arg in enumerate(args):
            if arg == "--ray" and (at + 1 == len(args) or args[at + 1].startswith("-")):
                args.insert(at + 1, LOCAL_RAY)
                break
        return super().parse_args(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        from pydantic import ValidationError

        from persona.errors import PersonaError, validation_message

        try:
            return super().invoke(ctx)
        except PersonaError as exc:
            fail(str(exc))
        except ValidationError as exc:
            flags = {param.name: param.opts[0] for param in self.params if param.name and param.opts}
            fail(validation_message(exc, flags))


class App(typer.Typer):
    """A Typer whose commands are ``_Command``s."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("no_args_is_help", True)
        kwargs.setdefault("add_completion", False)
        super().__init__(**kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cls", _Command)
        return super().command(*args, **kwargs)


OutOption = Annotated[
    Path | None, typer.Option("--out", help="Run dir for results (default: a name under outputs/).", show_default=False)
]
ConcurrencyOption = Annotated[
    int | None, typer.Option("--concurrency", min=1, help="Items in flight (default: the spec's run.concurrency).")
]
MaxFailuresOption = Annotated[
    int | None, typer.Option("--max-failures", min=1, help="Stop starting items once this many have failed.")
]
WorkersOption = Annotated[
    int | None,
    typer.Option("--workers", min=1, help="Shard each stage's items over this many processes (default: run.workers)."),
]
RayOption = Annotated[
    str | None,
    typer.Option(
        "--ray",
        metavar="[ADDRESS]",
        help="Run the shards as Ray tasks: alone, on a Ray started here; with ADDRESS, on that cluster.",
        show_default=False,
    ),
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


def progress() -> Progress:
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
        """Items per second over the stage so far (resumed items aside): rich's own speed is for bytes, and reads
        the bursts in which a sharded stage's items arrive as spikes."""

        def render(self, task: Task) -> Text:
            done = task.completed - task.fields.get("resumed", 0)
            speed = done / task.elapsed if task.elapsed and done > 0 else None
            return Text(rate_text(speed), style="progress.data.speed")

    class FailedColumn(ProgressColumn):
        def render(self, task: Task) -> Text:
            failed = task.fields.get("failed", 0)
            return Text(f"{failed} failed" if failed else "", style="red")

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
        FailedColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
    )


def execute(spec: Any, given: Mapping[str, Any], spec_path: Path | None = None) -> Any:
    """Run ``spec`` with the progress display, print its summary, and exit with the run's status."""
    from persona.runs import get_kind, run_spec

    spec = with_execution(spec, given)
    with progress() as shown:
        result = run_spec(
            spec,
            out=given.get("out"),
            spec_path=spec_path,
            progress=shown,
            concurrency=given.get("concurrency"),
            max_failures=given.get("max_failures"),
        )
    manifest = result.manifest
    if manifest.metrics is None:
        errors.print(f"[bold red]stopped:[/] {escape(result.reason)}")
    else:
        for shown_line in get_kind(spec.kind).summary(result):
            console.print(shown_line)
    console.print(
        f"[bold]{spec.kind}[/]: {manifest.model_calls} model calls, {manifest.cache_hits} cache hits, "
        f"{manifest.wall_time_s:.1f} s; results in [cyan]{result.run_dir}[/] (report.md, manifest.json)"
    )
    exit_with(manifest)
    if manifest.metrics is None:  # stopped with every item done, as when a worker died after its last one
        raise typer.Exit(code=EXIT_FAILED_ITEMS)
    return result


def with_execution(spec: Any, given: Mapping[str, Any]) -> Any:
    """``spec`` with ``--workers`` and ``--ray`` in its ``[run]`` table (which never changes results)."""
    update: dict[str, Any] = {}
    if given.get("workers") is not None:
        update["workers"] = given["workers"]
    if given.get("ray") is not None:
        update |= {"executor": "ray", "ray_address": None if given["ray"] == LOCAL_RAY else given["ray"]}
    return spec.model_copy(update={"run": spec.run.model_copy(update=update)}) if update else spec


def exit_with(manifest: Any) -> None:
    """End with the run's exit status, saying why when it is not 0."""
    failed = sum(manifest.failures.values())
    if manifest.exit_code == EXIT_ABORTED:
        errors.print(f"[bold red]stopped early:[/] {failed} items failed or never ran (limit reached)")
    elif manifest.exit_code == EXIT_FAILED_ITEMS:
        errors.print(f"[yellow]{failed} items failed[/]; see their error field in the result files and run.log")
    if manifest.exit_code:
        raise typer.Exit(code=manifest.exit_code)


def given(**values: Any) -> dict[str, Any]:
    """Keyword arguments for a library call: only the flags the user gave, so its defaults apply to the rest."""
    return {name: value for name, value in values.items() if value is not None}
