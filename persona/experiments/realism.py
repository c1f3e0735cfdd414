"""Are the personas realistic? Role-play against what real survey respondents answered.

Each evaluated respondent of a survey (a card: ``persona survey show``) becomes a persona: their own demographics,
and the rest drawn for a person like them. The model under test answers every item they answered, as them
(``roleplay``) and as nobody in particular (``blind``); non-LLM baselines predict the same answers from the same
demographics: ``majority``, ``uniform`` and ``demographic`` (a logistic regression per item), fitted on *other*
respondents only. The report puts them side by side, individually (accuracy, ordinal error) and by demographic group
(how far predicted answer shares are from the real ones), with the headline: role-play minus ``demographic``. If a
persona adds nothing its census row did not already say, that gap is zero.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, NamedTuple

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field, field_validator

from persona.data.census import CensusSample
from persona.data.io import write_jsonl
from persona.data.persona import Persona
from persona.data.population import profile_plan
from persona.data.respondents import respondent_persona
from persona.data.sources import load_source
from persona.data.surveys import Survey, load_survey
from persona.errors import InputError
from persona.experiments.bench import write_results
from persona.experiments.inputs import POPULATION
from persona.experiments.population import PersonaSlot, PopulationSection, population_role
from persona.lm.config import ModelConfig
from persona.lm.roles import Role
from persona.metrics.accuracy import Estimate, EstimateRecord
from persona.metrics.realism import (
    CellCeiling,
    GroupDistance,
    Resamples,
    banded,
    cell_ceiling,
    distributional,
    individual,
)
from persona.programs.baselines import BASELINES, Predicted, folds, predict_baselines
from persona.reports.estimates import format_estimate, group_lines, markdown, small_sample_note
from persona.reports.figures import realism_plot, save_figure
from persona.runs.kinds import Kind
from persona.runs.manifest import Manifest, Metrics
from persona.runs.records import Record
from persona.runs.session import RunRecords, Session
from persona.runs.spec import RolesSpec, model_slug

LM_PREDICTORS = ("roleplay", "blind")
PREDICTORS = (*LM_PREDICTORS, *BASELINES)
HEADLINE = ("roleplay", "demographic")
NO_DATA = Estimate(float("nan"), float("nan"), float("nan"), 0)


class RealismSpec(RolesSpec):
    """Role-play against real survey respondents, beside the baselines it has to beat."""

    ROLES: ClassVar[dict[str, Role]] = {
        "responder": Role(max_tokens=48),  # one option, as JSON
        POPULATION: population_role("responder"),  # checks and fills the drawn attributes, when asked
    }

    kind: Literal["realism"] = "realism"
    survey: str = Field(default="gss2018-spending", description="a built-in survey card's name, or a card file")
    respondents: int = Field(default=100, ge=0, description="respondents evaluated, drawn with seed; 0: all")
    items: list[str] = Field(default_factory=list, description="the card's item columns asked; empty: all")
    fit_share: float = Field(
        default=0.5, gt=0, le=1, description="share of the other respondents the baselines are fitted on"
    )
    folds: int = Field(default=5, ge=2, description="with respondents = 0: baselines cross-fitted over this many folds")
    predictors: list[str] = Field(default=list(PREDICTORS), min_length=1, description=f"any of {', '.join(PREDICTORS)}")
    census: str = Field(default="acs12", description="census rows a respondent's other attributes are drawn from")
    ceiling_by: list[str] = Field(
        default_factory=list,
        description="demographics whose cells the agreement ceiling is taken in (numbers banded); empty: all",
    )
    population: PopulationSection = Field(
        default_factory=lambda: PopulationSection(check=False, fill=False),
        description="the LM consistency check and filling of what is drawn for each respondent (off: procedural)",
    )
    min_group_size: int = Field(default=10, gt=0, description="respondents a demographic group needs to be ranked")
    resamples: int = Field(default=1000, ge=100, description="bootstrap resamples (of respondents) per CI")
    confidence: float = Field(default=0.95, gt=0, lt=1, description="level of every interval")

    @field_validator("predictors")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in PREDICTORS]
        if unknown or len(set(value)) != len(value):
            raise ValueError(f"predictors {value}: each once, from {', '.join(PREDICTORS)}")
        return value

    def asks_a_model(self) -> bool:
        return any(name in LM_PREDICTORS for name in self.predictors)

    def default_dir(self) -> Path:
        model = model_slug(self.models["responder"].model) if self.asks_a_model() else "baselines"
        return Path("outputs") / f"realism-{model_slug(Path(self.survey).stem)}-{model}-seed{self.seed}"


REALISM = Kind("realism", RealismSpec, subject="responder")


class Plan(NamedTuple):
    """What a realism run reads before its run dir exists."""

    survey: Survey
    items: list[str]
    evaluated: np.ndarray  # row positions of the respondents evaluated
    fit: np.ndarray | None  # row positions the baselines are fitted on; None: cross-fitted over folds
    personas: dict[int, Persona]  # evaluated row -> persona
    source: CensusSample  # what the rest of each persona is drawn from (again, for a redraw)


@REALISM.reads
def plan(spec: RealismSpec) -> Plan:
    survey = load_survey(spec.survey)
    label = str(survey.card.path or survey.card.name)
    columns = [item.column for item in survey.card.items]
    unknown = [column for column in spec.items if column not in columns]
    if unknown:
        raise InputError(f"items: {unknown[0]!r} is not an item of {label} (its items: {', '.join(columns)})")
    items = spec.items or columns
    unknown = [name for name in spec.ceiling_by if name not in survey.card.demographics]
    if unknown:
        raise InputError(
            f"ceiling_by: {unknown[0]!r} is not a demographic of {label} ({', '.join(survey.card.demographics)})"
        )
    if spec.respondents > len(survey):
        raise InputError(f"respondents = {spec.respondents}: {label} has {len(survey)} respondents")
    rng = np.random.default_rng([spec.seed, 30])
    if spec.respondents == 0:
        evaluated, fit = np.arange(len(survey)), None
    else:
        evaluated = np.sort(rng.choice(len(survey), size=spec.respondents, replace=False))
        others = np.setdiff1d(np.arange(len(survey)), evaluated)
        if len(others) == 0 and any(name in BASELINES for name in spec.predictors):
            raise InputError(f"respondents = {spec.respondents}: no other respondent is left to fit the baselines on")
        size = max(1, round(spec.fit_share * len(others))) if len(others) else 0
        fit = np.sort(rng.choice(others, size=size, replace=False))
    source = load_source(spec.census)
    personas = {int(row): respondent_persona(survey, int(row), source, spec.seed) for row in evaluated}
    return Plan(survey, items, evaluated, fit, personas, source)


@REALISM.needs
def _models(spec: RealismSpec, data: Plan) -> dict[str, ModelConfig]:
    roles = (["responder"] if spec.asks_a_model() else []) + ([POPULATION] if spec.population.uses_lm() else [])
    return {role: spec.models[role] for role in roles}


class Question(NamedTuple):
    """One item put to one respondent's persona by one LM predictor."""

    row: int
    respondent: str
    item: str
    predictor: str

    @property
    def key(self) -> str:
        return f"{self.respondent}|{self.item}|{self.predictor}"


class SurveyChoice(Record):
    """The option a model picked for one item: its code."""

    choice: str


def _answer(plan_: Plan) -> Callable[[Mapping[str, Any]], Callable[[Question], SurveyChoice]]:
    def make(lms: Mapping[str, Any]) -> Callable[[Question], SurveyChoice]:
        from persona.programs.survey import SurveyAnswer

        programs = {"roleplay": SurveyAnswer(lms["responder"]), "blind": SurveyAnswer(lms["responder"], blind=True)}

        def work(question: Question) -> SurveyChoice:
            item = plan_.survey.card.item(question.item)
            persona = plan_.personas[question.row].as_prompt() if question.predictor == "roleplay" else None
            return SurveyChoice(choice=programs[question.predictor](item.question, item.options, persona).code)

        return work

    return make


def _checked_and_filled(session: Session, spec: RealismSpec, plan_: Plan) -> Plan:
    """The respondents' personas through the LM consistency check (redrawing only what was drawn) and filling, as
    the run's ``personas`` stage; a respondent whose every draw is rejected is left out, and counted."""
    source = plan_.source
    options = spec.population
    rows = [int(row) for row in plan_.evaluated]
    categories = profile_plan(len(rows), spec.seed, options.categories_per_persona if options.fill else 0)
    slots = list(zip(rows, categories, strict=True))

    def make_work(lms: Mapping[str, Any]) -> Callable[[tuple[int, tuple[str, ...]]], PersonaSlot]:
        from persona.programs.population import ConsistencyCheck, OpenEndedFiller, PersonaBuilder

        builder = PersonaBuilder(
            source,
            spec.seed,
            max_draws=options.max_draws,
            checker=ConsistencyCheck(lms[POPULATION]) if options.check else None,
            filler=OpenEndedFiller(lms[POPULATION]) if options.fill else None,
            draw=lambda row, draw: respondent_persona(plan_.survey, row, source, spec.seed, draw),
        )

        def work(slot: tuple[int, tuple[str, ...]]) -> PersonaSlot:
            built = builder(slot=slot[0], categories=slot[1])
            return PersonaSlot(persona=built.persona, draws=built.draws)

        return work

    stage = session.stage(
        "personas", slots, key=lambda slot: plan_.survey.ids[slot[0]], make_work=make_work, record=PersonaSlot
    )
    built = {
        row: Persona.model_validate(entry.record["persona"])
        for (row, _), entry in zip(slots, stage.entries, strict=True)
        if entry.record is not None
    }
    if not built:
        session.stop(f"all {len(slots)} respondents' personas failed; see run.log")
    kept = np.array([row for row in rows if row in built], dtype=int)
    return plan_._replace(evaluated=kept, personas=built)


def _baseline_rows(spec: RealismSpec, plan_: Plan) -> dict[tuple[str, str, int], tuple[str | None, Any]]:
    """(predictor, item, row) -> (choice, probs) for every baseline, fitted on respondents never evaluated with it."""
    names = [name for name in spec.predictors if name in BASELINES]
    if not names:
        return {}
    parts = (
        [(plan_.fit, plan_.evaluated)]
        if plan_.fit is not None
        else [
            (np.setdiff1d(plan_.evaluated, plan_.evaluated[part]), plan_.evaluated[part])
            for part in folds(len(plan_.evaluated), spec.folds, spec.seed)
        ]
    )
    out: dict[tuple[str, str, int], tuple[str | None, Any]] = {}
    for fit, predict in parts:
        predicted: dict[str, dict[str, Predicted]] = predict_baselines(
            plan_.survey, plan_.items, fit, predict, spec.seed, names
        )
        for name, by_item in predicted.items():
            for item, result in by_item.items():
                for i, row in enumerate(predict):
                    out[(name, item, int(row))] = (result.choices[i], result.probs[i] if result.probs else None)
    return out


@REALISM.runs
def _run(session: Session, spec: RealismSpec, plan_: Plan) -> RunRecords:
    planned = len(plan_.evaluated)
    if spec.population.uses_lm():
        plan_ = _checked_and_filled(session, spec, plan_)
    survey = plan_.survey
    answers = survey.answers
    asked = [(int(row), item) for row in plan_.evaluated for item in plan_.items if pd.notna(answers.at[row, item])]
    questions = [
        Question(row, survey.ids[row], item, name)
        for row, item in asked
        for name in spec.predictors
        if name in LM_PREDICTORS
    ]
    lm_rows: dict[str, dict[str, Any]] = {}
    if questions:
        stage = session.stage(
            "realism", questions, key=lambda q: q.key, make_work=_answer(plan_), record=SurveyChoice, label="answers"
        )
        results = stage.rows(questions, lambda q: {"key": q.key}, SurveyChoice.fields())
        lm_rows = {result["key"]: result for result in results}
    baselines = _baseline_rows(spec, plan_)
    records: list[dict[str, Any]] = []
    for row, item in asked:
        persona = plan_.personas[row]
        base = {
            "respondent": survey.ids[row],
            "persona_id": persona.id,
            "weight": float(survey.weights[row]),
            "item": item,
            "real": str(answers.at[row, item]),
        }
        for name in spec.predictors:
            if name in LM_PREDICTORS:
                got = lm_rows[Question(row, survey.ids[row], item, name).key]
                records.append(
                    base | {"predictor": name, "choice": got["choice"], "probs": None, "error": got["error"]}
                )
            else:
                choice, probs = baselines[(name, item, row)]
                records.append(base | {"predictor": name, "choice": choice, "probs": probs, "error": None})
    write_jsonl(session.run_dir / "personas.jsonl", (plan_.personas[int(r)].model_dump() for r in plan_.evaluated))
    files = ["personas.jsonl", *write_results(session.run_dir, "realism", records)]
    metrics = realism_metrics(records, spec, plan_).model_copy(update={"left_out": planned - len(plan_.evaluated)})
    files += _draw(records, metrics, plan_, session.run_dir)
    manifest = session.finish(files=files, metrics=metrics, report=render_realism_report)
    return RunRecords(session.run_dir, records, manifest)


run_realism = REALISM.entry("run_realism")


class PredictorScore(BaseModel):
    """One predictor, individually and by demographic group."""

    accuracy: EstimateRecord = Field(description="share of answers predicted exactly, 95% CI resampling respondents")
    ordinal_error: EstimateRecord | None = Field(description="mean scale steps off, over ordered items")
    overlap: EstimateRecord = Field(description="1 - total variation, predicted vs real answer shares, mean of groups")
    representativeness: float | None = Field(description="1 - normalised 1-Wasserstein, mean of ranked groups")
    worst_group: str | None = Field(description="the ranked group whose answer shares it misses most (TV)")
    failed: int = Field(description="answers that failed (an error for the item, never a guess)")


@REALISM.measures
class RealismMetrics(Metrics):
    """Every predictor against the real answers; the headline is role-play minus the demographic baseline."""

    survey: str
    respondents: int
    left_out: int = Field(default=0, description="respondents left out: the consistency check rejected every draw")
    items: int
    predictors: dict[str, PredictorScore]
    headline: dict[str, EstimateRecord] = Field(
        description="roleplay minus demographic: 'accuracy' and 'overlap', paired on the same resamples"
    )
    ceiling: CellCeiling = Field(description="what these demographics alone tell, on all the survey's respondents")
    ceiling_by: list[str] = Field(description="the demographics that make a cell")
    groups: list[GroupDistance]


def realism_metrics(records: list[dict[str, Any]], spec: RealismSpec, plan_: Plan) -> RealismMetrics:
    frame = pd.DataFrame(records)
    card = plan_.survey.card
    scales = {column: card.item(column).scale() for column in plan_.items}
    ordered = {column: card.item(column).ordered for column in plan_.items}
    boot = Resamples(frame["respondent"].tolist(), spec.resamples, spec.seed, spec.confidence)
    scored = frame[frame["error"].isna()]
    individually = individual(scored, scales, ordered, boot)
    demographics = plan_.survey.demographics.iloc[plan_.evaluated]
    groups = banded(demographics, list(plan_.survey.numeric))
    groups.index = [plan_.survey.ids[int(r)] for r in plan_.evaluated]
    table, overall = distributional(scored, groups, scales, ordered, boot, spec.min_group_size)
    predictors = {}
    for name in spec.predictors:
        mine = [g for g in table if g.predictor == name and g.ranked]
        worst = max(mine, key=lambda g: g.tv, default=None)
        reps = [g.representativeness for g in mine if g.representativeness is not None]
        scores = individually.get(name, {})
        accuracy = scores["accuracy"][0] if "accuracy" in scores else NO_DATA
        error = scores.get("ordinal_error")
        predictors[name] = PredictorScore(
            accuracy=EstimateRecord.of(accuracy),
            ordinal_error=EstimateRecord.of(error[0]) if error else None,
            overlap=EstimateRecord.of(overall[name][0] if name in overall else NO_DATA),
            representativeness=float(np.mean(reps)) if reps else None,
            worst_group=f"{worst.attribute}: {worst.group}" if worst else None,
            failed=int(frame[(frame["predictor"] == name)]["error"].notna().sum()),
        )
    headline: dict[str, EstimateRecord] = {}
    first, second = HEADLINE
    if first in individually and second in individually:
        headline["accuracy"] = EstimateRecord.of(
            boot.difference(individually[first]["accuracy"], individually[second]["accuracy"])
        )
        if first in overall and second in overall:
            headline["overlap"] = EstimateRecord.of(boot.difference(overall[first], overall[second], centred=True))
    by = spec.ceiling_by or list(plan_.survey.demographics)
    cells = banded(plan_.survey.demographics[by], list(plan_.survey.numeric)).astype(str).agg(" | ".join, axis=1)
    return RealismMetrics(
        survey=card.name,
        respondents=len(plan_.evaluated),
        items=len(plan_.items),
        predictors=predictors,
        headline=headline,
        ceiling=cell_ceiling(cells.tolist(), plan_.survey.answers[plan_.items]),
        ceiling_by=by,
        groups=table,
    )


def _draw(records: list[dict[str, Any]], metrics: RealismMetrics, plan_: Plan, out: Path) -> list[str]:
    """Per item, real vs predicted answer shares in the two groups whose real answers differ most."""
    frame = pd.DataFrame(records)
    if frame.empty:
        return []
    groups = banded(plan_.survey.demographics.iloc[plan_.evaluated], list(plan_.survey.numeric))
    groups.index = [plan_.survey.ids[int(r)] for r in plan_.evaluated]
    card = plan_.survey.card
    shown = [name for name in ("roleplay", "demographic") if name in set(frame["predictor"])]
    figure = realism_plot(frame, groups, {c: card.item(c).options for c in plan_.items}, shown, metrics.groups)
    if figure is None:
        return []
    save_figure(figure, out / "realism.png")
    return ["realism.png"]


@REALISM.reports
def render_realism_report(manifest: Manifest) -> str:
    spec, m = manifest.spec, manifest.results(RealismMetrics)
    asked = (
        f"Role-play and blind answers by `{manifest.models['responder'].model}`"
        if manifest.models
        else ("No model asked (baselines only)")
    )
    lines = [
        f"# Realism: role-play against {m.respondents} real respondents of `{m.survey}`",
        "",
        f"{m.items} items. {asked}; the baselines are fitted on other respondents "
        + ("(cross-fitted over folds)." if spec["respondents"] == 0 else f"({spec['fit_share']:.0%} of the rest).")
        + " CIs resample respondents.",
        "",
        "| predictor | accuracy, 95% CI | ordinal error (steps) | overlap with real shares by group (1 - TV) | "
        "representativeness | worst group | failed |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {name} | {format_estimate(s.accuracy, with_n=True)} | "
            f"{format_estimate(s.ordinal_error) if s.ordinal_error else '-'} | {format_estimate(s.overlap)} | "
            f"{'-' if s.representativeness is None else f'{s.representativeness:.3f}'} | {s.worst_group or '-'} | "
            f"{s.failed} |"
            for name, s in m.predictors.items()
        ),
        "",
        *(
            [f"{m.left_out} respondents were left out: the consistency check rejected every draw for them.", ""]
            if m.left_out
            else []
        ),
        "**Headline** (role-play minus the demographic baseline, paired resamples): "
        + (
            "; ".join(f"{what} {format_estimate(value)}" for what, value in m.headline.items())
            if m.headline
            else "needs both `roleplay` and `demographic`."
        ),
        "A persona that adds nothing its demographics did not already say scores zero here.",
        "",
        *_ceiling_lines(m),
        "",
        "![answer shares](realism.png)",
        "",
        *_group_lines(m, spec["min_group_size"]),
        *small_sample_note(s.accuracy for s in m.predictors.values()),
    ]
    return markdown(lines, manifest.calls_line())


def _ceiling_lines(m: RealismMetrics) -> list[str]:
    c = m.ceiling
    if c.agreement is None or c.mode_accuracy is None:
        return [f"**Demographic cells** ({', '.join(m.ceiling_by)}): no two respondents share one."]
    return [
        f"**What these demographics alone tell** (cells of {', '.join(m.ceiling_by)}; the {c.respondents} respondents "
        "of the whole survey who share their cell): two respondents of one cell give the same answer "
        f"{c.agreement:.3f} of the time (what drawing from the right cell's answers scores), and the most common "
        f"answer of the rest of a respondent's cell is theirs {c.mode_accuracy:.3f} of the time (a lookup on these "
        "cells; with few respondents per cell it is noisy, and a model that pools cells, as `demographic` does, "
        "can beat it). Coarser cells: `ceiling_by`.",
    ]


def _group_lines(m: RealismMetrics, min_size: int) -> list[str]:
    cells = [(g.attribute, g.group, g.respondents, g.ranked, g.predictor, f"{g.tv:.3f}") for g in m.groups]
    heading = "Per demographic group: total variation distance from the real answer shares (0 best)"
    return group_lines(heading, "respondents", min_size, list(m.predictors), cells)


@REALISM.summarises
def _summary(result: RunRecords) -> list[str]:
    m = result.manifest.results(RealismMetrics)
    lines = [f"{name}: accuracy {format_estimate(s.accuracy)}" for name, s in m.predictors.items()]
    return [*lines, *(f"headline {what}: {format_estimate(v)}" for what, v in m.headline.items())]
