"""`persona annotate ...`: the human role-play study (create, serve, export)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from persona.cli.base import App, console, given

annotate_app = App(help="The human role-play study: people imitate a persona, pick an answer and justify it.")
StudyArgument = Annotated[Path, typer.Argument(help="Study folder (made by `persona annotate create`).")]


@annotate_app.command("create")
def create(
    items: Annotated[
        str,
        typer.Option(
            help="A pairs run dir, a LOO run dir or its questions.jsonl, or a JSONL/CSV of question, answer_a, "
            "answer_b (plus persona_id when each persona has its own)."
        ),
    ],
    personas: Annotated[
        str | None,
        typer.Option(help="personas.jsonl or its run dir, or draw:acs12 for a bare draw (default: the pairs run's)."),
    ] = None,
    n_personas: Annotated[int | None, typer.Option("--n-personas", help="Personas in the study (default 20).")] = None,
    annotators: Annotated[int | None, typer.Option(help="Annotators per persona (default 4).")] = None,
    questions: Annotated[int | None, typer.Option(help="Questions per persona (default 10).")] = None,
    attention: Annotated[float | None, typer.Option(help="Attention checks as a share of questions (0.1).")] = None,
    min_justification: Annotated[int | None, typer.Option(help="Shortest justification, characters (20).")] = None,
    majority: Annotated[int | None, typer.Option(help="Agreeing annotators for the majority label (3).")] = None,
    prolific: Annotated[
        bool, typer.Option("--prolific", help="Hand out assignments at /start?PROLIFIC_PID=... instead of links.")
    ] = False,
    prolific_study_id: Annotated[
        str | None, typer.Option(help="The Prolific study's id: an entry with another STUDY_ID is refused.")
    ] = None,
    completion_code: Annotated[str | None, typer.Option(help="One completion code for all (e.g. Prolific's).")] = None,
    title: Annotated[str | None, typer.Option(help="Title shown on every page.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for personas, questions and orders (default 0).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Study folder (default: outputs/study-...).")] = None,
) -> None:
    """Plan a study and write its folder: personas, questions, a personal link per annotator, the database."""
    from persona.study import StudyDesign, create_study
    from persona.study.design import PROLIFIC_URL

    design = StudyDesign(
        **given(
            items=items,
            personas=personas,
            n_personas=n_personas,
            annotators=annotators,
            questions=questions,
            attention=attention,
            min_justification=min_justification,
            majority=majority,
            entry="prolific" if prolific else None,
            prolific_study_id=prolific_study_id,
            completion_code=completion_code,
            title=title,
            seed=seed,
        )
    )
    study = create_study(design, out)
    checks = design.attention_checks()
    console.print(
        f"[green]created[/] {study.folder}: {len(study.plan.personas)} personas x {design.annotators} annotators, "
        f"{design.questions} questions + {checks} attention check{'s' * (checks != 1)} each"
    )
    if design.entry == "links":
        console.print(f"personal links: {study.folder / 'links.csv'} (paths; prefix them with the server's address)")
    else:
        console.print(f"Prolific study URL: SERVER{PROLIFIC_URL}")
    console.print(f"serve it: persona annotate serve {study.folder}")


@annotate_app.command("serve")
def serve(
    study: StudyArgument,
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default 127.0.0.1); go public behind a TLS proxy.")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default 8765).")] = None,
    place_timeout: Annotated[
        float | None,
        typer.Option(
            min=1, help="Seconds a Prolific place is held with no answer before it goes back to the pool (3600)."
        ),
    ] = None,
) -> None:
    """Serve the study to annotators until Ctrl-C; every answer is saved as it is given, so a restart resumes it."""
    from persona.study.app import serve as run_server

    run_server(study, announce=console.print, **given(host=host, port=port, place_timeout=place_timeout))


@annotate_app.command("export")
def export(
    study: StudyArgument,
    majority: Annotated[
        int | None, typer.Option(min=1, help="Agreeing annotators for the label (default: the study's).")
    ] = None,
    keep_failed_attention: Annotated[
        bool, typer.Option("--keep-failed-attention", help="Count annotators who failed an attention check.")
    ] = False,
    include_unsubmitted: Annotated[
        bool, typer.Option("--include-unsubmitted", help="Count the answers of annotators who have not submitted.")
    ] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Folder (default: STUDY/export).")] = None,
) -> None:
    """Answers in `persona agreement compute`'s format, plus the human majority label and attention results."""
    from persona.study import export_study

    result = export_study(
        study,
        majority=majority,
        keep_failed_attention=keep_failed_attention,
        include_unsubmitted=include_unsubmitted,
        **given(out=out),
    )
    console.print(
        f"[green]written[/] {result.folder}: {len(result.annotations)} answers, {len(result.majority)} majority "
        f"labels, {len(result.unresolved)} items without one"
    )
