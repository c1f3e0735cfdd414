"""Commands that build data: personas from the census, curated prompts, DPF pairs and their export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from persona.cli.base import (
    App,
    ConcurrencyOption,
    MaxFailuresOption,
    OutOption,
    RayOption,
    WorkersOption,
    console,
    fail,
    given,
    run_kind,
)

personas_app = App(help="Census-grounded persona populations.")
census_app = App(help="ACS PUMS census files.")
prompts_app = App(help="Prompt sets: curation and splits.")
pairs_app = App(help="Per-persona DPF preference pairs: build, verify, export.")

ModelOption = Annotated[str | None, typer.Option(help="LM model string (default: the embedded local/smollm2).")]
ApiBaseOption = Annotated[str | None, typer.Option(help="Endpoint for --model, e.g. a vLLM server.")]
SeedOption = Annotated[int | None, typer.Option(help="Everything random derives from it.")]


@personas_app.command("generate")
def personas_generate(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Option(help="'acs12' (embedded ACS 2012 sample) or 'pums:PATH'.")] = None,
    n: Annotated[int | None, typer.Option("--n", min=1, help="Personas to build.")] = None,
    seed: SeedOption = None,
    model: ModelOption = None,
    api_base: ApiBaseOption = None,
    min_age: Annotated[int | None, typer.Option(min=0, help="Draw only people at least this old.")] = None,
    check: Annotated[bool | None, typer.Option(help="LM consistency check; rejected profiles are redrawn.")] = None,
    max_draws: Annotated[int | None, typer.Option(min=1, help="Candidates per persona before it fails.")] = None,
    fill: Annotated[bool | None, typer.Option(help="LM-written job description and profile details.")] = None,
    categories: Annotated[int | None, typer.Option(min=0, help="Open-ended profile categories per persona.")] = None,
    dictionary: Annotated[Path | None, typer.Option(help="PUMS data dictionary CSV of the files' year.")] = None,
    out: OutOption = None,
    concurrency: ConcurrencyOption = None,
    max_failures: MaxFailuresOption = None,
    workers: WorkersOption = None,
    ray: RayOption = None,
) -> None:
    """Draw census-grounded personas, vet and fill them with an LM, and write the census fidelity report.

    Flags left out take the `personas` spec's defaults (`persona spec personas` prints them).
    """
    run_kind(
        "personas",
        ctx,
        {"model": "model.model", "api_base": "model.api_base", "categories": "categories_per_persona"},
    )


@personas_app.command("report")
def personas_report(run_dir: Annotated[Path, typer.Argument(help="A `persona personas generate` run dir.")]) -> None:
    """Rewrite the census fidelity report (fidelity.md and PNG plots) of a population run."""
    from persona.experiments.personas import report

    results = report(run_dir)
    table = Table("attribute", "personas", "TVD", "p-value", title=f"Census fidelity: {run_dir}")
    for r in results.marginals:
        table.add_row(r.attribute, str(r.personas), f"{r.tvd:.3f}", f"{r.p_value:.3f}")
    console.print(table)
    flagged = [f"{r.first} x {r.second}" for r in results.joint if r.flagged]
    console.print(f"pairs of attributes jointly off beyond sampling: {', '.join(flagged) or 'none'}")
    console.print(f"written: [cyan]{run_dir / 'fidelity.md'}[/], fidelity_joint.png, {run_dir / 'fidelity'}/*.png")


@census_app.command("download")
def census_download(
    year: Annotated[int, typer.Option(help="ACS year, e.g. 2023.")],
    state: Annotated[str | None, typer.Option(help="Two-letter state code, e.g. CA.")] = None,
    national: Annotated[bool, typer.Option("--national", help="The whole US (several GB).")] = False,
    period: Annotated[str | None, typer.Option(help="'1-Year' or '5-Year' (default 1-Year).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for the zips (default outputs/pums).")] = None,
    base_url: Annotated[
        str | None, typer.Option(help="Mirror of the Census Bureau's PUMS tree (default: the Bureau's own).")
    ] = None,
) -> None:
    """Download the Census Bureau's PUMS person and housing csv zips (resumes partial downloads)."""
    from persona.data.download import download_pums

    paths = download_pums(year, **given(dest=out, state=state, national=national, period=period, base_url=base_url))
    for path in paths:
        console.print(f"[green]ok[/] {path}")
    console.print(f"use them with: persona personas generate --source pums:{paths[0].parent if paths else out}")


def _split(value: str) -> dict[str, Any]:
    train, _, heldout = value.partition(":")
    if not (train.strip().isdigit() and heldout.strip().isdigit() and int(train) > 0 and int(heldout) > 0):
        fail(f"--split must be two positive whole numbers, train:held-out, such as 3000:868; got {value!r}")
    return {"train": int(train), "heldout": int(heldout)}


@prompts_app.command("curate")
def prompts_curate(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Option(help="'embedded', 'prism' (Hugging Face Hub), or a file.")] = None,
    column: Annotated[str | None, typer.Option(help="Text column of a file source (PRISM: opening_prompt).")] = None,
    seed: SeedOption = None,
    split: Annotated[str | None, typer.Option(help="train:held-out ratio within each topic (paper: 3000:868).")] = None,
    model: ModelOption = None,
    api_base: ApiBaseOption = None,
    classify: Annotated[bool | None, typer.Option(help="Run the LM controversiality check (and topics).")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Curate only the first this many prompts read.")] = None,
    out: OutOption = None,
    concurrency: ConcurrencyOption = None,
    max_failures: MaxFailuresOption = None,
    workers: WorkersOption = None,
    ray: RayOption = None,
) -> None:
    """Filter (question mark, five words), de-duplicate, LM-classify and split a prompt set; every drop is listed.

    Flags left out take the `curation` spec's defaults (`persona spec curation` prints them).
    """
    run_kind("curation", ctx, {"model": "model.model", "api_base": "model.api_base", "split": _split})


@pairs_app.command("generate")
def pairs_generate(
    ctx: typer.Context,
    personas: Annotated[str | None, typer.Option(help="'acs12', 'pums:PATH', or a personas.jsonl / run dir.")] = None,
    n_personas: Annotated[int | None, typer.Option(min=1, help="Personas drawn from a census source.")] = None,
    prompts: Annotated[str | None, typer.Option(help="'embedded' or a `persona prompts curate` run dir.")] = None,
    train: Annotated[int | None, typer.Option(min=0, help="Train pairs per persona (paper: 100).")] = None,
    test_seen: Annotated[
        int | None, typer.Option(min=0, help="Seen-prompt test pairs per persona (paper: 50).")
    ] = None,
    heldout: Annotated[int | None, typer.Option(min=0, help="Held-out-prompt pairs per persona (paper: 50).")] = None,
    seed: SeedOption = None,
    model: Annotated[str | None, typer.Option(help="Generator model (default: the embedded local/smollm2).")] = None,
    critic: Annotated[str | None, typer.Option(help="Persona critic model (default: the generator's).")] = None,
    annotator: Annotated[str | None, typer.Option(help="Role-play verifier model (default: the generator's).")] = None,
    verify: Annotated[bool | None, typer.Option(help="Role-play verification of every pair.")] = None,
    out: OutOption = None,
    concurrency: ConcurrencyOption = None,
    max_failures: MaxFailuresOption = None,
    workers: WorkersOption = None,
    ray: RayOption = None,
) -> None:
    """Build DPF pairs per persona (train / seen-test / held-out prompts), verify them by role-play, report.

    Flags left out take the `pairs` spec's defaults (`persona spec pairs` prints them).
    """
    flags = {"model": "models.generator.model", "critic": "models.persona.model", "annotator": "models.judge.model"}
    run_kind("pairs", ctx, flags)


@pairs_app.command("export")
def pairs_export(
    run_dir: Annotated[Path, typer.Argument(help="A `persona pairs generate` or `persona run` run dir.")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="parquet (default, one file per split), hf or trl.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder (default: RUN_DIR/export).")] = None,
) -> None:
    """Export the pairs: Parquet per split, a Hugging Face DatasetDict, or TRL DPO JSONL (persona as system)."""
    from persona.data.export import export_pairs

    for path in export_pairs(run_dir, **given(fmt=fmt, out=out)):
        console.print(f"[green]written[/] {path}")
