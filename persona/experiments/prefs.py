"""Preference prediction: does a predictor know which of two answers *this* person prefers, and for whom does it
fail?

For every evaluated pair of a pairs run dir (generated, imported from the published dataset, or split by persona),
each predictor says which answer the persona prefers, in both orders. Two sets of pairs:

- ``standard``: the persona's own chosen answer against the generic one it revised;
- ``contrast``: for a prompt answered for two personas P and Q, P's chosen against Q's chosen, judged once for P and
  once for Q, always both. A predictor that ignores who is asking sees the same two answers twice and is right once:
  exactly 50%. So contrast pairs separate personalization from recognising the better-written answer.

Accuracy comes with persona-clustered CIs, per persona x prompt split and per census group, with the worst group,
the best-worst gap and the gain over ``blind`` (the "average user" a single reward model serves).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, NamedTuple

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field, field_validator, model_validator

from persona.data.io import read_jsonl
from persona.data.pairs import chosen_goes_first
from persona.data.persona import ATTRIBUTES, Persona, read_personas
from persona.errors import InputError
from persona.experiments.bench import write_results
from persona.lm.config import ModelConfig
from persona.lm.roles import Role
from persona.metrics.accuracy import EstimateRecord
from persona.metrics.prefs import (
    DEFAULT_GROUPS,
    DERIVED,
    GroupAccuracy,
    brier,
    calibration_bins,
    clustered_mean,
    expected_calibration_error,
    group_accuracy,
    position_consistency,
    worst_and_gap,
)
from persona.programs.predictors import (
    PREDICTORS,
    HistoryPair,
    PairAsk,
    check_predictor,
    choice_of,
    load_predictor,
    predictor_identity,
)
from persona.reports.estimates import format_estimate, format_number, markdown, small_sample_note
from persona.reports.figures import calibration_plot, group_plot, save_figure
from persona.runs.kinds import Kind
from persona.runs.manifest import Manifest, Metrics
from persona.runs.records import Record
from persona.runs.session import RunRecords, Session
from persona.runs.spec import RolesSpec, digest, model_slug

SETS = ("standard", "contrast")
TEST = "test"  # in a split filter: every prompt split but train (train pairs are the personas' own history)
BLIND = "blind"


class PrefsSpec(RolesSpec):
    """Predictors of each persona's preferred answer, on a pairs run dir's evaluation pairs."""

    ROLES: ClassVar[dict[str, Role]] = {"predictor": Role(160)}  # a choice and one sentence of reasoning

    pairs: str = Field(description="a pairs run dir: `pairs generate`, `pairs import` or `pairs split`")
    split: str = Field(
        default="auto",
        description="pairs evaluated, PERSONA_SPLIT/PROMPT_SPLIT ('*' any, 'test' every prompt split but train); "
        "auto: test_unseen/test when the data is split by persona, else */test",
    )
    predictors: list[str] = Field(
        default=["profile", "blind", "history"],
        min_length=1,
        description="built-in (profile, blind, history) or your own as 'package.module:Name'",
    )
    history_k: int = Field(default=4, ge=0, description="the persona's earliest train pairs a predictor sees")
    order: Literal["both", "strict", "one"] = Field(
        default="both",
        description="both: each pair asked in both orders, scored by the mean; strict: right only if right in both; "
        "one: one seeded order",
    )
    sets: list[Literal["standard", "contrast"]] = Field(
        default=["standard", "contrast"],
        min_length=1,
        description="standard: own chosen vs rejected; contrast: two personas' chosen answers to one prompt",
    )
    groups: list[str] = Field(default=list(DEFAULT_GROUPS), description="census attributes accuracy is broken down by")
    min_group_size: int = Field(default=10, gt=0, description="personas a group needs to be ranked")
    max_pairs: int = Field(default=0, ge=0, description="a seeded sample of evaluated pairs per set; 0: all")
    resamples: int = Field(default=1000, gt=0, description="bootstrap resamples (of personas) per CI")
    kind: Literal["prefs"] = "prefs"

    @field_validator("predictors")
    @classmethod
    def _known_predictors(cls, names: list[str]) -> list[str]:
        if len(set(names)) != len(names):
            raise ValueError(f"{names}: a predictor is named twice")
        for name in names:
            check_predictor(name)
        return names

    @field_validator("groups")
    @classmethod
    def _known_groups(cls, names: list[str]) -> list[str]:
        unknown = [n for n in names if n not in ATTRIBUTES and n not in DERIVED]
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not a persona attribute (nor age band / income band)")
        return names

    @model_validator(mode="after")
    def _split_grammar(self) -> PrefsSpec:
        if self.split != "auto" and self.split.count("/") != 1:
            raise ValueError(f"split {self.split!r}: write PERSONA_SPLIT/PROMPT_SPLIT, e.g. test_unseen/test, or auto")
        return self

    def fingerprint(self) -> str:
        plugins = {name: predictor_identity(name) for name in self.predictors if name not in PREDICTORS}
        own = super().fingerprint()
        return digest({"spec": own, "predictors": plugins}) if plugins else own

    def default_dir(self) -> Path:
        return Path("outputs") / f"prefs-{model_slug(self.models['predictor'].model)}-seed{self.seed}"


PREFS = Kind("prefs", PrefsSpec, subject="predictor")


class Unit(NamedTuple):
    """One evaluated pair for one persona: the answer they prefer (``right``) against another (``wrong``)."""

    set: str
    persona_id: str
    prompt_id: str
    question: str
    right: str
    wrong: str
    persona_split: str | None
    prompt_split: str
    other: str | None  # contrast: the persona whose chosen answer is ``wrong``
    right_first: bool  # the order the pair is shown in first (for contrast, the same for both personas)

    @property
    def key(self) -> str:
        return "|".join([self.set, self.persona_id, self.prompt_id, *([self.other] if self.other else [])])


class Ask(NamedTuple):
    unit: Unit
    predictor: str
    order: str  # "first" (the unit's order) or "second" (swapped)

    @property
    def key(self) -> str:
        return f"{self.unit.key}|{self.predictor}|{self.order}"

    @property
    def right_is_a(self) -> bool:
        return self.unit.right_first == (self.order == "first")


class Plan(NamedTuple):
    units: list[Unit]
    personas: dict[str, Persona]
    history: dict[str, list[HistoryPair]]  # persona id -> their earliest train pairs
    split: str
    contrast_prompts: int  # prompts with two or more evaluated personas
    contrast_skipped: int  # persona couples whose chosen answers are the same text


def _split_filter(split: str, rows: list[dict]) -> tuple[str, str]:
    if split != "auto":
        side, prompts = split.split("/")
        return side, prompts
    return ("test_unseen" if any(row.get("persona_split") for row in rows) else "*"), TEST


def _matches(row: dict, side: str, prompts: str) -> bool:
    if side != "*" and row.get("persona_split") != side:
        return False
    if prompts == TEST:
        return row["split"] != "train"
    return prompts == "*" or row["split"] == prompts


@PREFS.reads
def plan(spec: PrefsSpec) -> Plan:
    """The evaluated pairs, each persona's history and the contrast couples: read before any run dir exists."""
    run_dir = Path(spec.pairs)
    for name in ("pairs.jsonl", "personas.jsonl"):
        if not (run_dir / name).is_file():
            raise InputError(f"{run_dir}: no {name}; give a `persona pairs generate`, `import` or `split` run dir")
    rows = [row for row in read_jsonl(run_dir / "pairs.jsonl") if row.get("error") is None]
    personas = {p.id: p for p in read_personas(run_dir / "personas.jsonl")}
    unknown = sorted({row["persona_id"] for row in rows} - set(personas))
    if unknown:
        raise InputError(f"{run_dir / 'pairs.jsonl'}: persona {unknown[0]} is not in personas.jsonl")
    side, prompts = _split_filter(spec.split, rows)
    if side not in ("*", "train", "test_unseen"):
        raise InputError(f"split {spec.split!r}: the persona splits are train and test_unseen (or *)")
    if side != "*" and not any(row.get("persona_split") for row in rows):
        raise InputError(f"{run_dir}: not split by persona; run `persona pairs split` first, or evaluate */{prompts}")
    evaluated = [row for row in rows if _matches(row, side, prompts)]
    if not evaluated:
        found = sorted({f"{row.get('persona_split') or '*'}/{row['split']}" for row in rows})
        raise InputError(f"{run_dir}: no pairs in split {side}/{prompts}; the data holds {', '.join(found)}")
    history: dict[str, list[HistoryPair]] = {}
    for row in rows:  # file order: a persona's earliest pairs first
        if row["split"] == "train":
            history.setdefault(row["persona_id"], []).append(HistoryPair(row["prompt"], row["chosen"], row["rejected"]))
    units: list[Unit] = []
    if "standard" in spec.sets:
        units += _sample(spec, [_standard(spec.seed, row) for row in evaluated], 1)
    contrast, prompts_shared, skipped = _contrast(spec.seed, evaluated)
    if "contrast" in spec.sets:
        units += _sample(spec, contrast, 2)
    split = f"{side}/{prompts}"
    return Plan(units, personas, {p: h[: spec.history_k] for p, h in history.items()}, split, prompts_shared, skipped)


def _standard(seed: int, row: dict) -> Unit:
    return Unit(
        set="standard",
        persona_id=row["persona_id"],
        prompt_id=row["prompt_id"],
        question=row["prompt"],
        right=row["chosen"],
        wrong=row["rejected"],
        persona_split=row.get("persona_split"),
        prompt_split=row["split"],
        other=None,
        right_first=chosen_goes_first(seed, f"{row['persona_id']}|{row['prompt_id']}"),
    )


def _contrast(seed: int, rows: list[dict]) -> tuple[list[Unit], int, int]:
    """Couples of personas answering one prompt, paired by a seeded shuffle; each couple gives two units, one per
    persona, shown in the same order (the lower persona id's answer first), so a persona-blind predictor sees the
    very same question twice."""
    by_prompt: dict[str, list[dict]] = {}
    for row in rows:
        by_prompt.setdefault(row["prompt_id"], []).append(row)
    units: list[Unit] = []
    shared = skipped = 0
    for prompt_id in sorted(by_prompt):
        group = sorted(by_prompt[prompt_id], key=lambda r: r["persona_id"])
        if len(group) < 2:
            continue
        shared += 1
        order = np.random.default_rng([seed, 25, int(digest({"p": prompt_id})[:8], 16)]).permutation(len(group))
        for i in range(0, len(group) - 1, 2):
            p, q = sorted((group[order[i]], group[order[i + 1]]), key=lambda r: r["persona_id"])
            if p["chosen"] == q["chosen"]:
                skipped += 1
                continue
            for me, them in ((p, q), (q, p)):
                units.append(
                    Unit(
                        set="contrast",
                        persona_id=me["persona_id"],
                        prompt_id=prompt_id,
                        question=me["prompt"],
                        right=me["chosen"],
                        wrong=them["chosen"],
                        persona_split=me.get("persona_split"),
                        prompt_split=me["split"],
                        other=them["persona_id"],
                        right_first=me is p,
                    )
                )
    return units, shared, skipped


def _sample(spec: PrefsSpec, units: list[Unit], together: int) -> list[Unit]:
    """At most ``max_pairs`` units, seeded; contrast units are drawn by couple (``together`` = 2), never halved."""
    if not spec.max_pairs or len(units) <= spec.max_pairs:
        return units
    blocks = [units[i : i + together] for i in range(0, len(units), together)]
    keep = max(1, spec.max_pairs // together)
    chosen = sorted(np.random.default_rng([spec.seed, 26]).choice(len(blocks), size=keep, replace=False))
    return [unit for i in chosen for unit in blocks[i]]


@PREFS.needs
def _models(spec: PrefsSpec, data: Plan) -> dict[str, ModelConfig]:
    return {"predictor": spec.models["predictor"]}


class Judgement(Record):
    """A predictor's answer for one pair in one order: the answer it prefers, P(A preferred) if it gives one."""

    preferred: Literal["A", "B"]
    p_a: float | None = Field(ge=0, le=1)
    rationale: str | None


def _predict(spec: PrefsSpec, data: Plan, lms: Mapping[str, Any]) -> Callable[[Ask], Judgement]:
    """Each predictor on each ask, inside the predictor model's DSPy context (so a plug-in's own DSPy predictors
    run on it, cached with the run)."""
    import dspy

    predictors = {name: load_predictor(name) for name in spec.predictors}

    def work(ask: Ask) -> Judgement:
        unit = ask.unit
        persona = data.personas[unit.persona_id]
        a, b = (unit.right, unit.wrong) if ask.right_is_a else (unit.wrong, unit.right)
        history = [h for h in data.history.get(unit.persona_id, []) if h.question != unit.question]
        question = PairAsk(
            persona, persona.as_prompt(), tuple(history), unit.question, a, b, lms["predictor"], dict(lms)
        )
        with dspy.context(lm=lms["predictor"]):
            choice = choice_of(predictors[ask.predictor](question))
        return Judgement(preferred=choice.preferred, p_a=choice.p_a, rationale=choice.rationale)

    return work


@PREFS.runs
def _run(session: Session, spec: PrefsSpec, data: Plan) -> RunRecords:
    orders = ("first", "second") if spec.order != "one" else ("first",)
    asks = [Ask(unit, name, order) for unit in data.units for name in spec.predictors for order in orders]
    work = functools.partial(_predict, spec, data)
    stage = session.stage("prefs", asks, key=lambda ask: ask.key, make_work=work, record=Judgement, label="predictions")
    rows = stage.rows(
        asks,
        lambda ask: {
            "set": ask.unit.set,
            "predictor": ask.predictor,
            "persona_id": ask.unit.persona_id,
            "persona_split": ask.unit.persona_split,
            "prompt_id": ask.unit.prompt_id,
            "prompt_split": ask.unit.prompt_split,
            "other_persona_id": ask.unit.other,
            "order": ask.order,
            "a_is_preferred": ask.right_is_a,
        },
        Judgement.fields(),
    )
    records = [
        {k: v for k, v in row.items() if k != "error"}
        | {"correct": None if row["preferred"] is None else (row["preferred"] == "A") == row["a_is_preferred"]}
        | {"error": row["error"]}
        for row in rows
    ]
    files = write_results(session.run_dir, "prefs", records)
    metrics = prefs_metrics(records, spec, data)
    files += _draw(metrics, session.run_dir)
    manifest = session.finish(files=files, metrics=metrics, report=render_prefs_report)
    return RunRecords(session.run_dir, records, manifest)


run_prefs = PREFS.entry("run_prefs")


class Score(BaseModel):
    """One predictor on one set of pairs."""

    accuracy: EstimateRecord = Field(description="mean pair score, 95% CI resampling personas")
    personas: int
    failed: int = Field(description="pairs with a failed ask in some order (left out, never guessed)")
    position_consistency: float | None = Field(description="share of pairs whose preferred answer kept its order")
    brier: float | None = Field(description="for predictors giving P(A preferred); 0.25 is a coin")
    ece: float | None = Field(description="expected calibration error over 10 bins")
    by_split: dict[str, EstimateRecord] = Field(description="PERSONA_SPLIT/PROMPT_SPLIT -> accuracy")
    worst_group: dict[str, Any] | None = Field(description="the ranked census group it serves worst")
    gap: float | None = Field(description="best minus worst ranked group accuracy")


class GroupRow(GroupAccuracy):
    """A group's accuracy for one predictor on one set, and its gain over blind in the same group."""

    set: str
    predictor: str
    gain_over_blind: float | None


class CalibrationBin(BaseModel):
    predicted: float
    observed: float
    n: int


@PREFS.measures
class PrefsMetrics(Metrics):
    """Accuracy of every predictor on every set, per split and per census group, with calibration where given."""

    split: str = Field(description="the pairs evaluated, PERSONA_SPLIT/PROMPT_SPLIT")
    order: str
    history_k: int
    scores: dict[str, dict[str, Score]] = Field(description="set -> predictor -> score")
    groups: list[GroupRow]
    calibration: dict[str, list[CalibrationBin]] = Field(description="predictor -> reliability bins (standard set)")
    contrast_prompts: int = Field(description="prompts two or more evaluated personas answered")
    contrast_skipped: int = Field(description="persona couples left out because their chosen answers were equal")
    min_group_size: int


def _unit_scores(records: list[dict], order: str) -> pd.DataFrame:
    """One row per (set, predictor, unit): its score from the orders asked, or failed when any order failed."""
    frame = pd.DataFrame(records)
    frame["unit"] = frame["persona_id"] + "|" + frame["prompt_id"] + "|" + frame["other_persona_id"].fillna("")
    rows = []
    for (set_, predictor, _), part in frame.groupby(["set", "predictor", "unit"], sort=False):
        first = part.iloc[0]
        failed = bool(part["error"].notna().any())
        correct = part["correct"].tolist()
        score = None if failed else (float(np.mean(correct)) if order != "strict" else float(all(correct)))
        by_order = dict(zip(part["order"], correct, strict=True))
        rows.append(
            {
                "set": set_,
                "predictor": predictor,
                "persona_id": first["persona_id"],
                "split": f"{first['persona_split'] or '*'}/{first['prompt_split']}",
                "score": score,
                "first": by_order.get("first"),
                "second": by_order.get("second"),
            }
        )
    return pd.DataFrame(rows)


def prefs_metrics(records: list[dict], spec: PrefsSpec, data: Plan) -> PrefsMetrics:
    """Every number of the report, from the judged records alone (plus the personas' attributes for groups)."""
    units = _unit_scores(records, spec.order)
    frame = pd.DataFrame(records)
    attributes = {pid: p.attributes for pid, p in data.personas.items()}
    scores: dict[str, dict[str, Score]] = {}
    group_rows: list[GroupRow] = []
    calibration: dict[str, list[CalibrationBin]] = {}
    for set_ in spec.sets:
        scores[set_] = {}
        tables = {}
        for predictor in spec.predictors:
            mine = units[(units["set"] == set_) & (units["predictor"] == predictor)]
            done = mine[mine["score"].notna()]
            estimate = clustered_mean(done["score"].tolist(), done["persona_id"].tolist(), spec.resamples, spec.seed)
            asked = frame[(frame["set"] == set_) & (frame["predictor"] == predictor) & frame["error"].isna()]
            probabilities = asked["p_a"].notna().all() and len(asked) > 0
            p_a = asked["p_a"].astype(float)
            p_right = np.where(asked["a_is_preferred"], p_a, 1 - p_a) if probabilities else []
            both = done[done["second"].notna()]
            tables[predictor] = group_accuracy(
                done, attributes, spec.groups, spec.min_group_size, spec.resamples, spec.seed
            )
            worst, gap = worst_and_gap(tables[predictor])
            scores[set_][predictor] = Score(
                accuracy=EstimateRecord.of(estimate),
                personas=int(done["persona_id"].nunique()),
                failed=int(mine["score"].isna().sum()),
                position_consistency=(
                    position_consistency(both["first"].tolist(), both["second"].tolist()) if len(both) else None
                ),
                brier=brier(p_right) if probabilities else None,
                ece=expected_calibration_error(p_a, asked["a_is_preferred"]) if probabilities else None,
                by_split={
                    split: EstimateRecord.of(
                        clustered_mean(part["score"].tolist(), part["persona_id"].tolist(), spec.resamples, spec.seed)
                    )
                    for split, part in done.groupby("split", sort=True)
                },
                worst_group=worst,
                gap=gap,
            )
            if probabilities and set_ == "standard":
                bins = calibration_bins(p_a, asked["a_is_preferred"])
                calibration[predictor] = [
                    CalibrationBin(predicted=r.predicted, observed=r.observed, n=r.n) for r in bins.itertuples()
                ]
        blind = tables.get(BLIND)
        for predictor, table in tables.items():
            for row in table.itertuples(index=False):
                base = None
                if blind is not None and predictor != BLIND:
                    match = blind[(blind["attribute"] == row.attribute) & (blind["group"] == row.group)]
                    base = float(row.accuracy - match["accuracy"].iloc[0]) if len(match) else None
                group_rows.append(GroupRow(set=set_, predictor=predictor, gain_over_blind=base, **row._asdict()))
    return PrefsMetrics(
        split=data.split,
        order=spec.order,
        history_k=spec.history_k,
        scores=scores,
        groups=group_rows,
        calibration=calibration,
        contrast_prompts=data.contrast_prompts,
        contrast_skipped=data.contrast_skipped,
        min_group_size=spec.min_group_size,
    )


@PREFS.draws
def _plots(manifest: Manifest, out: Path) -> list[str]:
    return _draw(manifest.results(PrefsMetrics), out)


def _draw(metrics: PrefsMetrics, out: Path) -> list[str]:
    """``groups.png`` (standard set) and ``groups-contrast.png``, and ``calibration.png`` when a predictor gives
    probabilities."""
    files = []
    table = pd.DataFrame([row.model_dump() for row in metrics.groups])
    for set_, name in (("standard", "groups.png"), ("contrast", "groups-contrast.png")):
        part = table[table["set"] == set_] if not table.empty else table
        if not part.empty:
            predictors = list(dict.fromkeys(part["predictor"]))
            save_figure(group_plot(part, BLIND if BLIND in predictors else None), out / name)
            files.append(name)
    if metrics.calibration:
        bins = {
            name: pd.DataFrame([b.model_dump() for b in rows]) for name, rows in metrics.calibration.items() if rows
        }
        save_figure(calibration_plot(bins), out / "calibration.png")
        files.append("calibration.png")
    return files


@PREFS.reports
def render_prefs_report(manifest: Manifest) -> str:
    m = manifest.results(PrefsMetrics)
    lines = [
        f"# Preference prediction: `{manifest.models['predictor'].model}`",
        "",
        f"Pairs evaluated: split {m.split}; each pair asked in {'both orders' if m.order != 'one' else 'one order'} "
        f"({m.order}); `history` sees each persona's {m.history_k} earliest train pairs. CIs resample personas, "
        "since one person's pairs are not independent. A coin scores 0.5; on contrast pairs so does every "
        "predictor that ignores who is asking.",
        "",
    ]
    for set_, predictors in m.scores.items():
        lines += [
            f"## {set_.capitalize()} pairs",
            "",
            "| predictor | accuracy, 95% CI | personas | failed | position-consistent | Brier | ECE | worst group "
            "| gap |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for name, s in predictors.items():
            worst = (
                ("none: every group alike" if s.gap == 0 else "n/a")
                if s.worst_group is None
                else f"{s.worst_group['attribute']} = {s.worst_group['group']} ({s.worst_group['accuracy']:.3f})"
            )
            lines.append(
                f"| {name} | {format_estimate(s.accuracy, with_n=True)} | {s.personas} | {s.failed} | "
                f"{format_number(s.position_consistency)} | {format_number(s.brier)} | {format_number(s.ece)} | "
                f"{worst} | {format_number(s.gap)} |"
            )
        splits = sorted({split for s in predictors.values() for split in s.by_split})
        lines += ["", "| predictor | " + " | ".join(splits) + " |", "|---|" + "---|" * len(splits)]
        for name, s in predictors.items():
            cells = [format_estimate(s.by_split[x]) if x in s.by_split else "-" for x in splits]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    if "contrast" in m.scores:
        lines += [
            f"Contrast pairs come from {m.contrast_prompts} prompts answered for two or more evaluated personas; "
            f"{m.contrast_skipped} couples were left out for having the same chosen answer.",
            "",
        ]
    lines += [
        "## Who is served, who is left behind",
        "",
        f"Groups of fewer than {m.min_group_size} personas are shown but not ranked (never the worst or best). "
        "Gain: accuracy minus blind's in the same group (where personalization helps, where it hurts).",
        "",
        "| set | predictor | attribute | group | accuracy (95% CI) | personas | pairs | gain over blind |",
        "|---|---|---|---|---|---|---|---|",
        *(
            f"| {g.set} | {g.predictor} | {g.attribute} | {g.group}{'' if g.ranked else ' (small)'} | "
            f"{g.accuracy:.3f} ({g.low:.3f}-{g.high:.3f}) | {g.personas} | {g.pairs} | "
            f"{'' if g.gain_over_blind is None else f'{g.gain_over_blind:+.3f}'} |"
            for g in m.groups
        ),
        "",
        "![accuracy per group](groups.png)",
        "",
    ]
    if m.calibration:
        lines += ["![calibration](calibration.png)", ""]
    lines += small_sample_note(s.accuracy for predictors in m.scores.values() for s in predictors.values())
    return markdown(lines, manifest.calls_line())


@PREFS.summarises
def _summary(result: RunRecords) -> list[str]:
    m = result.manifest.results(PrefsMetrics)
    return [
        f"{set_} {name}: {format_estimate(s.accuracy)}"
        + (f"; worst {s.worst_group['attribute']} = {s.worst_group['group']}" if s.worst_group else "")
        for set_, predictors in m.scores.items()
        for name, s in predictors.items()
    ]
