"""Preference elicitation: how much of what the profile is worth does a model recover by asking the person?

For each persona x held-out question and each budget in ``turns``, the model under test (the asking policy) may ask
a simulated user (the persona, role-played from their profile by the ``user`` role) up to that many clarifying
questions, then answers; it never sees the profile. The bench judge, which does see the profile, decides pass or
fail. Budget 0 is the persona-blind baseline (the very same request as the bench's ``baseline`` mode), and the
full-profile ``cot`` answer is the ceiling, so the report reads "how much of the profile's benefit does asking
recover, per question asked". Every reply is checked for leaks: attribute values the question did not ask about.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, NamedTuple

import pandas as pd
from pydantic import AliasChoices, BaseModel, Field, field_validator

from persona.data.io import write_jsonl
from persona.data.persona import Persona
from persona.experiments.bench import BenchInputs, asked_questions, read_questions, write_results
from persona.experiments.inputs import POPULATION, Item, JudgeFailure, role_models
from persona.experiments.population import population_role
from persona.lm.config import ModelConfig
from persona.lm.roles import Role
from persona.lm.usage import Tokens, metered
from persona.metrics.accuracy import EstimateRecord
from persona.metrics.mentions import leaked
from persona.metrics.prefs import DEFAULT_GROUPS, GroupAccuracy, clustered_mean, group_accuracy
from persona.plugins import is_import_path, load_callable
from persona.programs.responders import Ask, respond, responder_identity
from persona.reports.estimates import format_estimate, format_number, group_lines, markdown, small_sample_note
from persona.reports.figures import elicit_plot, save_figure
from persona.runs.kinds import Kind
from persona.runs.manifest import Manifest, Metrics
from persona.runs.records import Record
from persona.runs.session import RunRecords, Session
from persona.runs.spec import digest, model_slug

ASKER = "ask"  # the built-in asking policy
MAX_TURNS = 16
CEILING = "profile"  # the full-profile cot answer, reported beside the budgets


class ElicitSpec(BenchInputs):
    """Asking instead of knowing: accuracy per question budget, between the blind baseline and the profile."""

    ROLES: ClassVar[dict[str, Role]] = {
        "responder": Role(max_tokens=200),
        "judge": Role(max_tokens=160),
        "user": Role(max_tokens=80, like="judge"),  # the simulated person: never the model under test by default
        POPULATION: population_role("judge"),
    }

    kind: Literal["elicit"] = "elicit"
    turns: list[int] = Field(default=[0, 1, 2, 4], min_length=1, description="question budgets compared (0: blind)")
    asker: str = Field(
        default=ASKER,
        validation_alias=AliasChoices("asker", "responder"),
        description="the asking policy: 'ask' (built in), or your own responder as 'package.module:Name' "
        "(it gets ask_user and turns in Ask.context)",
    )
    ceiling: bool = Field(default=True, description="also answer with the full profile (cot): the ceiling")
    groups: list[str] = Field(default=list(DEFAULT_GROUPS), description="census attributes accuracy is broken down by")
    min_group_size: int = Field(default=10, gt=0, description="personas a group needs to be ranked")

    @field_validator("turns")
    @classmethod
    def _budgets(cls, value: list[int]) -> list[int]:
        bad = [t for t in value if not 0 <= t <= MAX_TURNS]
        if bad:
            raise ValueError(f"turns {bad[0]}: each budget must be between 0 and {MAX_TURNS} questions")
        return sorted(set(value))

    @field_validator("asker")
    @classmethod
    def _known_asker(cls, value: str) -> str:
        if value != ASKER:
            if not is_import_path(value):
                raise ValueError(f"unknown asker {value!r}: 'ask', or your own as 'package.module:Name'")
            load_callable(value, "an Ask")  # a plug-in that does not import is named before anything runs
        return value

    def fingerprint(self) -> str:
        own = super().fingerprint()
        plugin = None if self.asker == ASKER else responder_identity(self.asker)
        return own if plugin is None else digest({"spec": own, "asker": plugin})

    def default_dir(self) -> Path:
        return Path("outputs") / f"elicit-{model_slug(self.models['responder'].model)}-seed{self.seed}"


ELICIT = Kind("elicit", ElicitSpec, subject="responder")
ELICIT.reads(read_questions)


@ELICIT.needs
def _models(spec: ElicitSpec, inputs: Any) -> dict[str, ModelConfig]:
    return role_models(spec, ("responder", "judge", "user"), inputs[0])


class Case(NamedTuple):
    question: Item
    budget: int | None  # None: the full-profile ceiling

    @property
    def label(self) -> str:
        return CEILING if self.budget is None else str(self.budget)

    @property
    def key(self) -> str:
        return f"{self.question.key}|{self.label}"


class Turn(BaseModel):
    """One clarifying question, the simulated person's reply, and the attributes it gave away unasked."""

    question: str
    reply: str
    leaks: list[str]


class ElicitRecord(Record):
    """One conversation: the questions asked and replies, the final answer, the judge's verdict on it, and the
    tokens each role spent (the cost of asking; the same on a replay, where the answers come from the cache)."""

    asked: int
    turns: list[Turn]
    answer: str
    critique: str | None
    passed: bool | None
    judge_error: JudgeFailure | None
    tokens: dict[str, Tokens]


class ElicitError(ValueError):
    """The asking policy broke the conversation's rules (more questions than its budget): an error for the item."""


class Channel:
    """What the asker may call: one clarifying question in, the person's reply out, at most ``budget`` times."""

    def __init__(self, user: Any, persona: Persona, request: str, budget: int) -> None:
        self.user, self.persona, self.request, self.budget = user, persona, request, budget
        self.turns: list[Turn] = []

    def __call__(self, question: str) -> str:
        if len(self.turns) >= self.budget:
            raise ElicitError(f"the asker asked more than its {self.budget} questions")
        # Turn t's reply is its own request (rollout id t), so a question asked again is answered again, not
        # replayed from the first time; the first turn's request carries none.
        turn = len(self.turns)
        config = {"rollout_id": turn} if turn else None
        reply = self.user(persona=self.persona.as_prompt(), request=self.request, asked=question, config=config).reply
        self.turns.append(Turn(question=question, reply=reply, leaks=leaked(self.persona.known(), question, reply)))
        return reply


def _work(spec: ElicitSpec, lms: Mapping[str, Any]) -> Callable[[Case], ElicitRecord]:
    from persona.programs.bench import RevisionJudge, judged
    from persona.programs.elicitation import Asker, SimulatedUser
    from persona.programs.responders import ModeResponder

    asker = Asker() if spec.asker == ASKER else load_callable(spec.asker, "an Ask")
    profile = ModeResponder("cot")
    user = SimulatedUser(lms["user"])
    judge = RevisionJudge(lms["judge"])

    def work(case: Case) -> ElicitRecord:
        with metered() as tokens:
            return converse(case, tokens)

    def converse(case: Case, tokens: dict[str, Tokens]) -> ElicitRecord:
        persona, question = case.question.persona, case.question.prompt.text
        if case.budget is None:  # the ceiling: the whole profile, as the bench's cot mode sees it
            channel = Channel(user, persona, question, 0)
            ask = Ask(question, persona, persona.as_prompt(), lms["responder"], dict(lms))
            answer = respond(profile, ask).answer
        else:  # the asker never sees the profile: only what it asks for
            channel = Channel(user, persona, question, case.budget)
            context = {"ask_user": channel, "turns": case.budget}
            answer = respond(asker, Ask(question, None, "", lms["responder"], dict(lms), None, context)).answer
        verdict = judged(
            lambda: judge(question=question, persona=persona.as_prompt(), answer=answer),
            ("critique", "passed"),
            "judge_error",
        )
        return ElicitRecord(
            asked=len(channel.turns), turns=channel.turns, answer=answer, tokens=dict(sorted(tokens.items())), **verdict
        )

    return work


@ELICIT.runs
def _run(session: Session, spec: ElicitSpec, inputs: Any) -> RunRecords:
    personas, questions = asked_questions(session, spec, inputs)
    budgets: list[int | None] = [*spec.turns, *([None] if spec.ceiling else [])]
    cases = [Case(question, budget) for question in questions for budget in budgets]
    stage = session.stage(
        "elicit", cases, key=lambda case: case.key, make_work=lambda lms: _work(spec, lms), record=ElicitRecord
    )
    models = {name: spec.models[name].model for name in ("responder", "judge", "user")}
    records = stage.rows(
        cases,
        lambda case: (
            {
                "persona_id": case.question.persona.id,
                "prompt_id": case.question.prompt.id,
                "question": case.question.prompt.text,
                "budget": case.label,
                "asker": spec.asker,
            }
            | models
        ),
        ElicitRecord.fields(),
    )
    write_jsonl(session.run_dir / "personas.jsonl", (p.model_dump() for p in personas))
    files = ["personas.jsonl", *write_results(session.run_dir, "elicit", records)]
    metrics = elicit_metrics(records, spec, {p.id: p for p in personas})
    files += _draw(metrics, session.run_dir)
    manifest = session.finish(files=files, metrics=metrics, report=render_elicit_report)
    return RunRecords(session.run_dir, records, manifest)


run_elicit = ELICIT.entry("run_elicit")


class BudgetScore(BaseModel):
    """One budget (or the profile ceiling): accuracy, how many questions were asked, and what replies leaked."""

    accuracy: EstimateRecord = Field(description="share passed, 95% CI resampling personas")
    asked: float | None = Field(description="mean clarifying questions asked per item")
    leaks: int = Field(description="attribute values replies gave away unasked, over all turns")
    leaks_per_turn: float | None
    failed: int = Field(description="items that failed (not judged)")
    judge_failures: int
    tokens: dict[str, float] = Field(
        default_factory=dict, description="mean tokens (prompt + completion) per finished item, by role"
    )


class GroupScore(GroupAccuracy):
    """A group's accuracy at one budget (or the profile ceiling)."""

    budget: str


@ELICIT.measures
class ElicitMetrics(Metrics):
    """Accuracy per question budget, the blind baseline (budget 0) and the full-profile ceiling."""

    budgets: dict[str, BudgetScore] = Field(description="'0', '1', ... and 'profile' (the ceiling)")
    recovered: dict[str, float | None] = Field(
        description="share of the ceiling's gain over blind each budget recovers (None without both ends)"
    )
    groups: list[GroupScore] = Field(description="accuracy per census group and budget, persona-clustered CIs")


def elicit_metrics(records: list[dict[str, Any]], spec: ElicitSpec, personas: Mapping[str, Persona]) -> ElicitMetrics:
    frame = pd.DataFrame(records)
    attributes = {pid: persona.attributes for pid, persona in personas.items()}
    groups: list[GroupScore] = []
    budgets: dict[str, BudgetScore] = {}
    for label in [*(str(t) for t in spec.turns), *([CEILING] if spec.ceiling else [])]:
        part = frame[frame["budget"] == label]
        done = part[part["error"].isna()]
        judged = done[done["passed"].notna()]
        scores = judged.assign(score=judged["passed"].astype(float))[["persona_id", "score"]]
        estimate = clustered_mean(
            scores["score"].tolist(), scores["persona_id"].tolist(), spec.resamples, spec.seed, spec.confidence
        )
        table = group_accuracy(scores, attributes, spec.groups, spec.min_group_size, spec.resamples, spec.seed)
        groups += [GroupScore(budget=label, **row) for row in table.to_dict("records")]
        turns = sum(int(a) for a in done["asked"]) if len(done) else 0
        leaks = sum(len(turn["leaks"]) for row in done["turns"] for turn in row) if len(done) else 0
        budgets[label] = BudgetScore(
            accuracy=EstimateRecord.of(estimate),
            asked=float(done["asked"].mean()) if len(done) else None,
            leaks=leaks,
            leaks_per_turn=leaks / turns if turns else None,
            failed=int(part["error"].notna().sum()),
            judge_failures=int(done["passed"].isna().sum()),
            tokens=_mean_tokens(done["tokens"].tolist()),
        )
    low = budgets["0"].accuracy.value if "0" in budgets else None
    high = budgets[CEILING].accuracy.value if CEILING in budgets else None
    recovered = {label: _recovered(low, high, score.accuracy.value) for label, score in budgets.items()}
    return ElicitMetrics(budgets=budgets, recovered=recovered, groups=groups)


def _mean_tokens(spent: list[dict[str, dict[str, int]]]) -> dict[str, float]:
    """Mean tokens per item by role; an item where a role made no call counts zero for it."""
    roles = sorted({role for item in spent for role in item})
    return {role: sum(Tokens(**item.get(role, {})).total for item in spent) / len(spent) for role in roles}


def _recovered(blind: float | None, ceiling: float | None, value: float | None) -> float | None:
    """Where ``value`` lies between the blind baseline (0) and the full-profile ceiling (1)."""
    if blind is None or ceiling is None or value is None or math.isclose(ceiling, blind):
        return None
    return (value - blind) / (ceiling - blind)


@ELICIT.draws
def _plots(manifest: Manifest, out: Path) -> list[str]:
    return _draw(manifest.results(ElicitMetrics), out, manifest.spec.get("asker", ASKER))


def _draw(metrics: ElicitMetrics, out: Path, label: str = ASKER) -> list[str]:
    curve = {int(k): s.accuracy for k, s in metrics.budgets.items() if k != CEILING and s.accuracy.value is not None}
    if not curve:
        return []
    ceiling = metrics.budgets.get(CEILING)
    save_figure(
        elicit_plot({label: curve}, ceiling.accuracy if ceiling and ceiling.accuracy.value is not None else None),
        out / "elicit.png",
    )
    return ["elicit.png"]


@ELICIT.reports
def render_elicit_report(manifest: Manifest) -> str:
    spec, m = manifest.spec, manifest.results(ElicitMetrics)
    lines = [
        f"# Preference elicitation: `{manifest.models['responder'].model}` asking `{manifest.models['user'].model}`",
        "",
        f"Asking policy `{spec['asker']}`; the simulated person is `{manifest.models['user'].model}`, the judge "
        f"`{manifest.models['judge'].model}` (it sees the whole profile). Budget 0 is the persona-blind baseline "
        "(the bench's baseline request), `profile` the full-profile chain-of-thought answer: the ceiling. CIs "
        "resample personas.",
        "",
        "| budget | accuracy, 95% CI | share of the profile's gain recovered | questions asked per item | leaks "
        "(per turn) | tokens per item | failed | judge failures |",
        "|---|---|---|---|---|---|---|---|",
        *(
            f"| {label} | {format_estimate(s.accuracy, with_n=True)} | {format_number(m.recovered.get(label))} | "
            f"{format_number(s.asked)} | {s.leaks} ({format_number(s.leaks_per_turn)}) | {_tokens_cell(s.tokens)} | "
            f"{s.failed} | {s.judge_failures} |"
            for label, s in m.budgets.items()
        ),
        "",
        "A leak is an attribute value a reply carries that the question did not ask about (exact and synonym "
        "matches, as in the summary analysis): the simulated person said more than a person would. Tokens per "
        "item are prompt + completion tokens by role, as the backends reported them: the cost of asking.",
        "",
        "![accuracy per budget](elicit.png)",
        "",
        *_group_lines(m, spec["min_group_size"]),
        *small_sample_note(s.accuracy for s in m.budgets.values()),
    ]
    return markdown(lines, manifest.calls_line())


def _tokens_cell(tokens: dict[str, float]) -> str:
    return ", ".join(f"{role} {value:,.0f}" for role, value in tokens.items()) or "-"


def _group_lines(m: ElicitMetrics, min_size: int) -> list[str]:
    """Accuracy per census group, one column per budget: who asking serves, and who it leaves behind."""
    cells = [
        (g.attribute, g.group, g.personas, g.ranked, g.budget, f"{g.accuracy:.3f} ({g.low:.3f}-{g.high:.3f})")
        for g in m.groups
    ]
    return group_lines("Per census group", "personas", min_size, list(m.budgets), cells)


@ELICIT.summarises
def _summary(result: RunRecords) -> list[str]:
    m = result.manifest.results(ElicitMetrics)
    return [f"budget {label}: {format_estimate(s.accuracy)}" for label, s in m.budgets.items()]
