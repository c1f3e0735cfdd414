"""Commands for real surveys: what a survey card says, and role-play against its respondents (`realism`)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from persona.cli.base import App, console
from persona.cli.flags import add_kind_command, csv, model_flags

survey_app = App(help="Real surveys (cards): their items and demographics, and role-play against their respondents.")


@survey_app.command("show")
def survey_show(
    card: Annotated[str, typer.Argument(help="A built-in card's name (gss2018-spending) or a card file (TOML).")],
) -> None:
    """A card's items, its demographic mapping, its respondents and what each column is missing."""
    from persona.data.surveys import load_survey

    survey = load_survey(card)
    spec = survey.card
    console.print(f"[bold]{spec.name}[/]: {len(survey)} respondents, {len(spec.items)} items; data {spec.data}")
    if spec.source:
        console.print(f"source: {spec.source}")
    people = Table("persona attribute", "column", "values", "missing", title="demographics")
    for name, demographic in spec.demographics.items():
        shown = (
            f"{len(demographic.values)} labels"
            if demographic.values
            else ("a number" if name in survey.numeric else "as is")
        )
        extra = "" if name not in spec.extra_lines() else " (extra profile line)"
        people.add_row(name + extra, demographic.column, shown, str(int(survey.demographics[name].isna().sum())))
    console.print(people)
    items = Table("column", "question", "options", "ordered", "missing", title="items")
    for item in spec.items:
        options = ", ".join(f"{code}={label}" for code, label in item.options.items())
        missing = str(int(survey.answers[item.column].isna().sum()))
        items.add_row(item.column, item.question, options, "yes" if item.ordered else "no", missing)
    console.print(items)


add_kind_command(
    survey_app,
    "realism",
    "realism",
    "survey respondents items fit_share folds predictors census ceiling_by min_group_size resamples seed model "
    "api_base",
    model_flags("models.responder", "model", "model that role-plays the respondents")
    | {"items": csv("items"), "predictors": csv("predictors"), "ceiling_by": csv("ceiling_by")},
    doc="Role-play against real survey respondents, beside the blind model and the non-LLM baselines it must beat.",
)
