"""Commands that build data: personas from the census, curated prompts, DPF pairs and their export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from persona.cli.base import App, console, fail, given
from persona.cli.flags import Flag, add_kind_command, model_flags

personas_app = App(help="Census-grounded persona populations.")
census_app = App(help="ACS PUMS census files.")
prompts_app = App(help="Prompt sets: curation and splits.")
pairs_app = App(help="Per-persona DPF preference pairs: build, import, split by persona, verify, export.")

ONE_MODEL = model_flags("model", "model", "LM model string")

add_kind_command(
    personas_app,
    "generate",
    "personas",
    "source n seed model api_base min_age check max_draws fill categories dictionary",
    ONE_MODEL
    | {
        "categories": Flag("categories_per_persona"),
    },
    doc="Draw census-grounded personas, vet and fill them with an LM, and write the census fidelity report.",
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


add_kind_command(
    prompts_app,
    "curate",
    "curation",
    "source column seed split model api_base classify limit",
    ONE_MODEL
    | {
        "split": Flag("train", split=_split, shown=("train", "heldout"), help="train:held-out ratio within each topic"),
    },
    doc="Filter (question mark, five words), de-duplicate, LM-classify and split prompts; each drop is listed.",
)

add_kind_command(
    pairs_app,
    "generate",
    "pairs",
    "personas n_personas prompts train test_seen heldout unseen stratify seed model critic annotator verify",
    {
        "model": Flag("models.generator.model", help="generator model"),
        "critic": Flag("models.persona.model", help="persona critic model"),
        "annotator": Flag("models.judge.model", help="role-play verifier model"),
    },
    doc="Build DPF pairs per persona (train / seen-test / held-out prompts), verify them by role-play, report.",
)


@pairs_app.command("export")
def pairs_export(
    run_dir: Annotated[
        Path, typer.Argument(help="A `persona pairs generate`/`import`/`split` or `persona run` run dir.")
    ],
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", help="parquet (default, one file per split), hf, trl, or persona (the published layout)."
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder (default: RUN_DIR/export).")] = None,
) -> None:
    """Export the pairs: Parquet per split, a Hugging Face DatasetDict, TRL DPO JSONL (persona as system), or the
    PERSONA dataset's published layout (persona.parquet)."""
    from persona.data.export import export_pairs

    for path in export_pairs(run_dir, **given(fmt=fmt, out=out)):
        console.print(f"[green]written[/] {path}")


UnseenOption = Annotated[
    float | None,
    typer.Option(
        "--unseen",
        help="Whole personas held out as test_unseen: a share (0.36) or a count (568 gives the paper's 1000/568).",
    ),
]
StratifyOption = Annotated[
    str | None, typer.Option("--stratify", help="Persona attribute whose every value lands on both sides.")
]
SplitSeedOption = Annotated[int, typer.Option("--seed", help="Seed of the persona split.")]


@pairs_app.command("import")
def pairs_import(
    source: Annotated[
        str,
        typer.Argument(help="Published-layout Parquet/JSONL/CSV file, a saved datasets folder, or hf:OWNER/NAME."),
    ],
    out: Annotated[Path, typer.Option("--out", help="The pairs run dir to write.")],
    unseen: UnseenOption = None,
    stratify: StratifyOption = None,
    seed: SplitSeedOption = 0,
) -> None:
    """Import the PERSONA dataset's published layout as a pairs run dir (rows kept out are listed in import.md)."""
    from persona.data.pairs_dir import import_pairs

    summary = import_pairs(source, out, unseen=unseen, stratify=stratify, seed=seed)
    console.print(
        f"[green]imported[/] {summary['pairs']} pairs of {summary['personas']} personas into {out} "
        f"({len(summary['rejected'])} of {summary['rows']} rows kept out; see {out / 'import.md'})"
    )


@pairs_app.command("split")
def pairs_split(
    run_dir: Annotated[Path, typer.Argument(help="A `persona pairs generate` or `persona pairs import` run dir.")],
    out: Annotated[Path, typer.Option("--out", help="The pairs run dir to write (a copy, with persona_split).")],
    unseen: Annotated[
        float,
        typer.Option("--unseen", help="Whole personas held out as test_unseen: a share (0.36) or a count (568)."),
    ],
    stratify: StratifyOption = None,
    seed: SplitSeedOption = 0,
) -> None:
    """Assign whole personas to train and test_unseen, on top of the prompt splits (written to a new run dir)."""
    from persona.data.pairs_dir import split_pairs

    section = split_pairs(run_dir, out, unseen=unseen, stratify=stratify, seed=seed)
    counts = ", ".join(f"{side} {c['personas']} personas / {c['pairs']} pairs" for side, c in section["counts"].items())
    console.print(f"[green]written[/] {out}: {counts}")
