"""PERSONA Bench, main evaluation: every persona x question x mode answered by the model under test and judged.

Per item the responder answers in its mode, the revision judge decides pass/fail, the subtlety judge (optional)
flags answers that name the persona's attributes, and in ``summary`` mode the summary is checked for the
attributes it dropped (an LLM diff judge and an exact/synonym match). A judge output that does not parse after
its re-asks is recorded as a judge failure: excluded from the rates and counted in the report.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, NamedTuple

import numpy as np
import pandas as pd
from pydantic import AliasChoices, BaseModel, Field, field_validator, model_validator

from persona.data.io import iter_jsonl, write_jsonl, write_parquet
from persona.data.persona import ATTRIBUTES, NullAttributes, Persona, null_attributes
from persona.data.prompts import Prompt
from persona.errors import InputError
from persona.experiments.inputs import (
    PARTS,
    POPULATION,
    Item,
    JudgeFailure,
    PersonasInput,
    experiment_personas,
    load_split_prompts,
    read_personas_input,
    role_models,
    traced_row,
)
from persona.experiments.population import PopulationSection, population_role
from persona.lm.config import ModelConfig
from persona.lm.roles import Role
from persona.metrics import EstimateRecord, pass_rate
from persona.metrics.mentions import drop_frequency, dropped_by_match
from persona.metrics.slices import Predicate, slice_accuracy
from persona.plugins import PluginError, is_import_path
from persona.programs.predictors import HistoryPair
from persona.programs.responders import MODES, history_k, load_responder, offering, responder_identity
from persona.reports import estimates_table
from persona.reports.bench import bench_plots
from persona.reports.estimates import format_estimate, small_sample_note
from persona.reports.judging import judge_note
from persona.reports.personas import null_line
from persona.reports.slices import slices_table
from persona.runs.engine import run_kind
from persona.runs.kinds import Kind
from persona.runs.manifest import Manifest, Metrics, file_digest
from persona.runs.records import Record
from persona.runs.session import RunRecords, Session
from persona.runs.spec import RolesSpec, digest, model_slug, spec_fingerprint

SPLITS = (*PARTS, "all")
DROP_METHODS = ("dropped_llm", "dropped_match")
PROGRAM_MODE = "program"
MAX_HISTORY = 16  # train pairs a history@k responder may be shown


class BenchInputs(RolesSpec):
    """What every bench run draws on: personas, prompts, seed, models, and how CIs are computed."""

    ROLES: ClassVar[dict[str, Role]] = {
        "responder": Role(max_tokens=200),
        "judge": Role(max_tokens=160),
        POPULATION: population_role("judge"),  # checks and fills census personas
    }

    personas: str = Field(
        default="acs12",
        description="'acs12' or 'pums:PATH' (built by the full pipeline), personas.jsonl or its run dir, draw:SOURCE",
    )
    n_personas: int = Field(default=20, gt=0, description="personas made when `personas` is a census source")
    min_age: int = Field(default=18, ge=0, description="census personas are drawn from people at least this old")
    prompts: str = Field(default="embedded", description="'embedded' or a `persona prompts curate` run dir")
    split: Literal["train", "heldout", "all"] = Field(default="heldout", description="which prompts to ask")
    questions: int = Field(default=5, gt=0, description="questions per persona")
    confidence: float = Field(default=0.95, gt=0, lt=1, description="level of every bootstrap interval")
    resamples: int = Field(default=1000, ge=100, description="bootstrap resamples per interval")
    population: PopulationSection = Field(
        default_factory=PopulationSection, description="how census personas are built (the full pipeline)"
    )

    def fingerprint(self) -> str:
        # `kind` was always part of a bench fingerprint
        return spec_fingerprint(self, ignore={"run", "out"} | self.unset_later())


class BenchSpec(BenchInputs):
    """The main evaluation. Acceptance-size default: 20 personas x 5 questions x 4 modes."""

    kind: Literal["bench"] = "bench"
    modes: list[str] = Field(
        default_factory=lambda: list(MODES),
        validation_alias=AliasChoices("modes", "responders"),
        description="responders: built-in modes, or your own as 'package.module:Name' (see persona.programs.Ask)",
    )
    subtlety: bool = Field(default=True, description="also run the subtlety judge on every answer")
    summary_analysis: bool = Field(default=True, description="in summary mode, find the attributes summaries drop")
    slices: list[str] = Field(default_factory=list, description="intersection predicates reported per mode")
    program: str | None = Field(
        default=None, description="a compiled responder (`persona optimize`'s program.json), run as mode 'program'"
    )
    program_mode: str | None = Field(default=None, description="the mode it was compiled from (read from its run)")
    history: str | None = Field(
        default=None, description="a pairs run dir whose train pairs are each persona's history (for history_k)"
    )
    history_k: list[int] = Field(
        default_factory=list,
        description="adds a history@k responder per k: no profile, the persona's k earliest train pairs (0: baseline)",
    )
    ADDED_LATER = ("history", "history_k")

    @field_validator("modes")
    @classmethod
    def _known_modes(cls, value: list[str]) -> list[str]:
        if value == ["all"]:
            return list(MODES)
        built_in = (*MODES, PROGRAM_MODE)
        unknown = [m for m in value if m not in built_in and not is_import_path(m) and history_k(m) is None]
        if unknown or not value:
            raise ValueError(
                f"unknown bench modes {unknown}; the modes are {', '.join(MODES)} (or 'all'), or a responder of "
                "your own as 'package.module:Name'"
            )
        for mode in value:
            if is_import_path(mode):
                load_responder(mode)  # a plug-in that does not import is bad input, named before anything runs
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _history(self) -> BenchSpec:
        bad = [k for k in self.history_k if not 0 <= k <= MAX_HISTORY]
        if bad:
            raise ValueError(f"history_k {bad[0]}: each k must be between 0 and {MAX_HISTORY}")
        self.modes = list(dict.fromkeys([*self.modes, *(f"history@{k}" for k in self.history_k)]))
        history_shown(self.modes, self.history)
        return self

    @model_validator(mode="after")
    def _program(self) -> BenchSpec:
        if self.program is None:
            if PROGRAM_MODE in self.modes:
                raise ValueError("mode 'program' needs --program PATH")
            return self
        path = Path(self.program)
        manifest = path.parent / "manifest.json"
        if not path.is_file() or not manifest.is_file():
            raise ValueError(f"{path}: not a compiled program in a finished `persona optimize` run dir")
        self.program_mode = json.loads(manifest.read_text())["spec"]["mode"]
        history_shown([self.program_mode], self.history)  # compiled from history@k: it needs the same pairs
        if PROGRAM_MODE not in self.modes:
            self.modes = [*self.modes, PROGRAM_MODE]
        return self

    def has_plugins(self) -> bool:
        """A responder of someone else's runs here (itself, or compiled): its trace gets a column of the results."""
        return any(is_import_path(mode) for mode in [*self.modes, self.program_mode or ""])

    def fingerprint(self) -> str:
        own = super().fingerprint()
        if self.program is not None:
            own = digest({"spec": own, "program": file_digest(Path(self.program))})
        plugins = {mode: responder_identity(mode) for mode in self.modes if is_import_path(mode)}
        return digest({"spec": own, "responders": plugins}) if plugins else own

    @field_validator("slices")
    @classmethod
    def _parse_slices(cls, value: list[str]) -> list[str]:
        for text in value:
            Predicate(text, ATTRIBUTES)
        return value

    def default_dir(self) -> Path:
        return Path("outputs") / f"bench-{model_slug(self.models['responder'].model)}-seed{self.seed}"


BENCH = Kind("bench", BenchSpec, subject="responder")


def question_pool(spec: BenchInputs) -> list[Prompt]:
    """The prompts of the chosen split, refused up front when fewer than the questions each persona gets."""
    parts = load_split_prompts(spec.prompts, spec.seed)
    pool = parts["train"] + parts["heldout"] if spec.split == "all" else parts[spec.split]
    if spec.questions > len(pool):
        raise InputError(f"{spec.questions} questions per persona, but the {spec.split} prompts number {len(pool)}")
    return pool


def asked_questions(
    session: Session, spec: BenchInputs, inputs: tuple[PersonasInput, list[Prompt]]
) -> tuple[list[Persona], list[Item]]:
    """A bench-like run's personas (built in the run from a census source) and the questions each is asked."""
    source, pool = inputs
    personas = experiment_personas(session, spec, source)
    return personas, plan_questions(spec, personas, pool)


def plan_questions(spec: BenchInputs, personas: list[Persona], pool: list[Prompt]) -> list[Item]:
    """Each persona's questions, drawn from the pool independently of who they are."""
    questions = []
    for index, persona in enumerate(personas):
        rng = np.random.default_rng([spec.seed, 5, index])
        questions += [Item(persona, pool[i]) for i in sorted(rng.choice(len(pool), size=spec.questions, replace=False))]
    return questions


def write_results(run_dir: Path, name: str, records: list[dict[str, Any]]) -> list[str]:
    write_jsonl(run_dir / f"{name}.jsonl", records)
    write_parquet(run_dir / f"{name}.parquet", records)
    return [f"{name}.jsonl", f"{name}.parquet"]


class BenchCase(NamedTuple):
    question: Item
    mode: str

    @property
    def key(self) -> str:
        return f"{self.question.key}|{self.mode}"


class BenchRecord(Record):
    """One judged answer of one mode: the revision judge's verdict, the subtlety judge's, and for ``summary`` what
    the summary dropped (by the judge, and by string match). A judge whose verdict never parsed leaves its fields
    null and says so in its ``*_error``; ``trace`` is what a plug-in responder kept beside its answer."""

    answer: str
    summary: str | None
    critique: str | None
    passed: bool | None
    judge_error: JudgeFailure | None
    subtle: bool | None
    named_attributes: str | None
    subtlety_error: JudgeFailure | None
    dropped_llm: list[str] | None
    dropped_unknown: list[str] | None
    dropped_match: list[str] | None
    dropped_error: JudgeFailure | None
    trace: dict[str, Any] | None = None


RECORD_FIELDS = tuple(name for name in BenchRecord.model_fields if name != "trace")  # a plug-in's trace goes last


def _bench_work(spec: BenchSpec, lms: Mapping[str, Any], histories: Histories) -> Callable[[BenchCase], dict[str, Any]]:
    """Each mode's bench item, and the judges, on the run's models: one answer per case, judged."""
    from persona.programs.bench import (
        BenchItem,
        DroppedAttributes,
        HistoryProgram,
        ResponderProgram,
        SubtletyJudge,
        judged,
        load_program,
    )
    from persona.programs.responders import HistoryResponder, ModeResponder, Responder

    items = {mode: BenchItem(lms["responder"], lms["judge"], mode, lms) for mode in spec.modes if mode != PROGRAM_MODE}
    if spec.program is not None and spec.program_mode is not None:  # the validator reads the mode with the path
        program = load_program(Path(spec.program), spec.program_mode, lms["responder"])
        # A compiled plug-in is its own responder again (with its tuned predictors), asked with the whole Ask.
        compiled: Responder
        if isinstance(program, ResponderProgram):
            compiled = program.responder
        elif isinstance(program, HistoryProgram):
            compiled = HistoryResponder(program.k, program.program)
        else:
            compiled = ModeResponder(spec.program_mode, program)
        items[PROGRAM_MODE] = BenchItem(lms["responder"], lms["judge"], compiled, lms)
    subtlety = SubtletyJudge(lms["judge"])
    dropped = DroppedAttributes(lms["judge"])

    def work(case: BenchCase) -> dict[str, Any]:
        persona, text = case.question.persona, case.question.persona.as_prompt()
        question = case.question.prompt.text
        record = dict.fromkeys(RECORD_FIELDS)
        shown = history_k(spec.program_mode or "") if case.mode == PROGRAM_MODE else history_k(case.mode)
        context = {"history": histories.get(persona.id, [])} if shown else None
        sample = items[case.mode](question=question, persona=text, record=persona, context=context).samples[0]
        record |= {key: value for key, value in sample.items() if key != "sample"}
        if spec.subtlety:
            record |= judged(
                lambda: subtlety(question=question, persona=text, answer=sample["answer"]),
                ("subtle", "named_attributes"),
                "subtlety_error",
            )
        if case.mode == "summary" and spec.summary_analysis:
            record["dropped_match"] = dropped_by_match(persona.known(), sample["summary"])
            verdict = judged(
                lambda: dropped(persona=persona.known(), summary=sample["summary"]),
                ("dropped", "unknown"),
                "dropped_error",
            )
            record |= {"dropped_llm": verdict["dropped"], "dropped_unknown": verdict["unknown"]}
            record["dropped_error"] = verdict["dropped_error"]
        return record

    return work


def read_questions(spec: BenchInputs) -> tuple[PersonasInput, list[Prompt]]:
    """What a bench-like run reads before its run dir exists: its personas' source and its question pool."""
    return read_personas_input(spec), question_pool(spec)


def history_shown(modes: Iterable[str], history: str | None) -> int:
    """The most train pairs any ``history@k`` responder among ``modes`` is shown; refused above ``MAX_HISTORY`` and
    without ``history``, the pairs run dir they come from."""
    shown = [k for mode in modes if (k := history_k(mode)) is not None]
    if any(k > MAX_HISTORY for k in shown):
        raise ValueError(f"history@{max(shown)}: a history shows at most {MAX_HISTORY} train pairs")
    if shown and history is None:
        raise ValueError("history@k responders need `history`: a pairs run dir with each persona's train pairs")
    return max(shown, default=0)


Histories = dict[str, list[HistoryPair]]


def read_with_histories(
    spec: BenchInputs, modes: Iterable[str], history: str | None
) -> tuple[PersonasInput, list[Prompt], Histories]:
    """A bench-like run's personas' source and question pool, and for its history@k responders each persona's
    history (empty without any)."""
    source, pool = read_questions(spec)
    needed = history_shown(modes, history)
    return source, pool, {} if history is None else read_histories(history, needed, source, pool)


@BENCH.reads
def read_bench(spec: BenchSpec) -> tuple[PersonasInput, list[Prompt], Histories]:
    """A bench run's personas' source and question pool, and for history@k responders each persona's history."""
    compiled_from = [spec.program_mode] if spec.program_mode else []
    return read_with_histories(spec, [*spec.modes, *compiled_from], spec.history)


def read_histories(history: str, needed: int, source: PersonasInput, pool: list[Prompt]) -> Histories:
    """Each persona's train pairs, earliest first, from the pairs run dir ``history``. Refused: a run whose
    personas are built here (they have no pairs), a persona with fewer than ``needed`` train pairs, and any train
    pair whose prompt the run may ask, since a history must never show a question under test."""
    path = Path(history)
    if not (path / "pairs.jsonl").is_file():
        raise InputError(f"history: {path} has no pairs.jsonl; give a `persona pairs generate` or `import` run dir")
    if not isinstance(source, list):
        raise InputError(f"history: the personas must be those of the pairs, e.g. personas = {str(path)!r}")
    asked = {prompt.text for prompt in pool}
    histories: dict[str, list[HistoryPair]] = {}
    for number, row in iter_jsonl(path / "pairs.jsonl"):
        if row.get("error") is not None or row["split"] != "train":
            continue
        if row["prompt"] in asked:
            raise InputError(
                f"{path / 'pairs.jsonl'}: line {number}: persona {row['persona_id']}'s train pair asks "
                f"{row['prompt']!r}, a question this bench asks; a history must never show a question under test"
            )
        histories.setdefault(row["persona_id"], []).append(HistoryPair(row["prompt"], row["chosen"], row["rejected"]))
    for persona in source:
        have = len(histories.get(persona.id, []))
        if have < needed:
            raise InputError(f"history@{needed}: persona {persona.id} has {have} train pairs in {path}")
    return histories


@BENCH.needs
def tested_and_judge(spec: BenchInputs, inputs: tuple[PersonasInput, list[Prompt]]) -> dict[str, ModelConfig]:
    """The model under test and its judge (and the population role when census personas are built)."""
    return role_models(spec, ("responder", "judge"), inputs[0])


@BENCH.runs
def _run(session: Session, spec: BenchSpec, inputs: Any) -> RunRecords:
    """Answer every persona x question in each mode, judge each answer, then report and plot."""
    run_dir = session.run_dir
    source, pool, histories = inputs
    personas, questions = asked_questions(session, spec, (source, pool))
    cases = [BenchCase(question, mode) for question in questions for mode in spec.modes]
    stage = session.stage(
        "bench",
        cases,
        key=lambda case: case.key,
        make_work=lambda lms: _bench_work(spec, lms, histories),
        record=BenchRecord,
    )

    models = {"responder": spec.models["responder"].model, "judge": spec.models["judge"].model}
    traced = spec.has_plugins()
    records = stage.rows(
        cases,
        lambda case: (
            {
                "persona_id": case.question.persona.id,
                "prompt_id": case.question.prompt.id,
                "topic": case.question.prompt.topic,
                "question": case.question.prompt.text,
                "mode": case.mode,
            }
            | models
        ),
        (*RECORD_FIELDS, "trace") if traced else RECORD_FIELDS,
        expand=lambda record: [traced_row(record, traced)],
    )
    write_jsonl(run_dir / "personas.jsonl", (p.model_dump() for p in personas))
    files = ["personas.jsonl", *write_results(run_dir, "bench", records)]
    metrics = bench_metrics(records, personas, spec)
    files += bench_plots(metrics, spec.models["responder"].model, run_dir)
    manifest = session.finish(
        files=files,
        metrics=metrics,
        report=render_report,
    )
    return RunRecords(run_dir, records, manifest)


def responder_fingerprint(own: str, responder: str) -> str:
    """The fingerprint of a spec with one responder: its own, joined by the responder's identity when it is a
    plug-in (so editing the plug-in starts a new run), unchanged for a built-in mode."""
    plugin = responder_identity(responder)
    return own if plugin is None else digest({"spec": own, "responder": plugin})


def responder_entry(kind: Kind, name: str, place: Callable[[Any, str], dict[str, Any]]) -> Callable[..., Any]:
    """``kind``'s Python runner, ``name(spec, out=None, responder=None, **options)`` (``options`` as
    ``persona.run_kind``'s). ``responder`` is an approach handed over as an object (a ``dspy.Module``, a callable
    taking an ``Ask``): the spec names it by its import path where ``place(spec, path)`` puts it, and it runs as it
    is, in this process, with its identity (class path and source digest, or its ``version``) in the fingerprint."""

    def run(spec: Any, out: Path | None = None, responder: Any = None, **options: Any) -> Any:
        if responder is None:
            return run_kind(spec, out, **options)
        if spec.run.workers > 1 or spec.run.executor == "ray":
            raise PluginError(
                "a responder handed over as an object runs in this process only: set run.workers = 1, or name it "
                "by import path in the spec to shard its items"
            )
        with offering(responder) as path:
            return run_kind(type(spec).model_validate(dict(spec) | place(spec, path)), out, **options)

    run.__name__ = run.__qualname__ = name
    run.__doc__ = (
        f"Run a `{kind.name}` spec into its run dir (resuming what an earlier run of it finished); ``responder``: "
        "your approach as an object, named in the spec by its import path and run as it is, in this process."
    )
    return kind.exports(run)


run_bench = responder_entry(BENCH, "run_bench", lambda spec, path: {"modes": [*spec.modes, path]})


def spec_rate(values: list[bool], spec: BenchInputs) -> EstimateRecord:
    """A pass rate with the bootstrap CI the spec asks for (its confidence, resamples and seed)."""
    return EstimateRecord.of(pass_rate(values, spec.confidence, spec.resamples, spec.seed))


class ModeMetrics(BaseModel):
    """One responder mode: accuracy and subtlety with CIs, and what could not be judged."""

    accuracy: EstimateRecord = Field(description="share of judged answers that need no revision")
    subtle: EstimateRecord = Field(description="share of answers that do not name the persona's attributes")
    items: int
    failed_items: int = Field(description="items without an answer")
    judge_failures: int = Field(description="answers whose revision-judge output never parsed (excluded)")
    subtlety_failures: int = Field(description="answers whose subtlety-judge output never parsed (excluded)")


class DropRow(BaseModel):
    """How often summaries dropped one attribute (Figure 11), by the LLM diff judge and by exact/synonym match."""

    attribute: str
    dropped_llm_share: float | None
    dropped_match_share: float | None
    summaries: int


class SliceRow(BaseModel):
    """Accuracy of one intersection of attributes in one mode."""

    slice: str
    mode: str
    personas: int
    answers: int
    pass_rate: float | None
    low: float | None
    high: float | None


@BENCH.measures
class BenchMetrics(Metrics):
    """The main evaluation (Figure 10): per-mode rates, dropped attributes (Figure 11) and intersections."""

    confidence: float = Field(description="level of every bootstrap interval")
    modes: dict[str, ModeMetrics]
    dropped: list[DropRow] = Field(description="empty without summary mode or its analysis")
    dropped_judge_failures: int
    slices: list[SliceRow]
    personas: NullAttributes = Field(description="how many personas were asked, and the attributes each left null")


def _rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    return table.astype(object).where(table.notna(), None).to_dict("records")


def bench_metrics(records: list[dict[str, Any]], personas: list[Persona], spec: BenchSpec) -> BenchMetrics:
    """Per-mode accuracy and subtlety with CIs, failure counts, dropped-attribute shares and slices: records only."""
    by_mode: dict[str, ModeMetrics] = {}
    for mode in spec.modes:
        rows = [r for r in records if r["mode"] == mode]
        answered = [r for r in rows if r["error"] is None]
        by_mode[mode] = ModeMetrics(
            accuracy=spec_rate([r["passed"] for r in answered if r["passed"] is not None], spec),
            subtle=spec_rate([r["subtle"] for r in answered if r["subtle"] is not None], spec),
            items=len(rows),
            failed_items=len(rows) - len(answered),
            judge_failures=sum(r["judge_error"] is not None for r in answered),
            subtlety_failures=sum(r["subtlety_error"] is not None for r in answered),
        )
    attributes = {p.id: p.known() for p in personas}
    summaries = [
        {"known": list(attributes[r["persona_id"]]), **{m: r[m] for m in DROP_METHODS}}
        for r in records
        if r["mode"] == "summary" and r["error"] is None and r["dropped_match"] is not None
    ]
    dropped = drop_frequency(summaries, DROP_METHODS)
    slices = []
    if spec.slices:
        frame = pd.DataFrame([r for r in records if r["error"] is None], columns=["persona_id", "passed", "mode"])
        table = slice_accuracy(
            frame,
            {p.id: p.attributes for p in personas},
            [Predicate(text, ATTRIBUTES) for text in spec.slices],
            confidence=spec.confidence,
            resamples=spec.resamples,
            seed=spec.seed,
        )
        slices = [SliceRow.model_validate(row) for row in _rows(table)]
    return BenchMetrics(
        confidence=spec.confidence,
        modes=by_mode,
        dropped=[DropRow.model_validate(row) for row in _rows(dropped)],
        dropped_judge_failures=sum(r["dropped_error"] is not None for r in records if r["error"] is None),
        slices=slices,
        personas=null_attributes(personas),
    )


@BENCH.reports
def render_report(manifest: Manifest) -> str:
    spec, m = manifest.spec, manifest.results(BenchMetrics)
    level = round(m.confidence * 100)
    lines = [
        f"# PERSONA Bench: `{manifest.models['responder'].model}`",
        "",
        f"{spec['n_personas']} personas x {spec['questions']} {spec['split']} questions x {len(spec['modes'])} modes; "
        f"judge `{manifest.models['judge'].model}`; seed {manifest.seed}. Pass = the judge finds no revision needed.",
        "",
        null_line(m.personas),
        "",
        *judge_note(manifest),
        f"| mode | accuracy, {level}% CI | judged | subtle, {level}% CI | failed items | unparseable judge outputs |",
        "|---|---|---|---|---|---|",
    ]
    for mode, row in m.modes.items():
        lines.append(
            f"| {mode} | {format_estimate(row.accuracy)} | {row.accuracy.n} | "
            f"{format_estimate(row.subtle)} | {row.failed_items} | "
            f"{row.judge_failures} revision, {row.subtlety_failures} subtlety |"
        )
    lines += [
        "",
        "Unparseable judge outputs (after re-asks) are excluded from the rates, never counted as passes or fails.",
        "",
        *small_sample_note(e for row in m.modes.values() for e in (row.accuracy, row.subtle)),
        "![accuracy per mode](accuracy.png)",
        "",
    ]
    if m.dropped:
        lines += [
            "## Summary mode: attributes the summaries dropped",
            "",
            "| attribute | dropped (LLM judge) | dropped (exact/synonym match) | summaries |",
            "|---|---|---|---|",
        ]
        for drop in sorted(m.dropped, key=lambda r: -(r.dropped_match_share or 0)):
            llm = "n/a" if drop.dropped_llm_share is None else f"{drop.dropped_llm_share:.2f}"
            lines.append(f"| {drop.attribute} | {llm} | {drop.dropped_match_share:.2f} | {drop.summaries} |")
        lines += [
            "",
            f"{m.dropped_judge_failures} diff-judge outputs did not parse.",
            "",
            "![dropped](dropped.png)",
            "",
        ]
    if m.slices:
        lines += ["## Intersections", "", *slices_table([row.model_dump() for row in m.slices], level)]
    lines += [manifest.calls_line(), ""]
    return "\n".join(lines)


@BENCH.summarises
def _summary(result: RunRecords) -> list[Any]:
    modes = result.manifest.results(BenchMetrics).modes
    return [estimates_table("accuracy per mode", {mode: row.accuracy for mode, row in modes.items()})]


@BENCH.draws
def _plots(manifest: Manifest, out: Path) -> list[str]:
    return bench_plots(manifest.results(BenchMetrics), manifest.models["responder"].model, out)
