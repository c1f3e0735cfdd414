"""A role-play study's design and its plan: which persona each annotator plays, which questions, in which order.

The design follows the paper's human study: each persona is shown to ``annotators`` people, each person sees exactly
one persona and ``questions`` preference questions, picks the answer that persona would prefer and justifies it.
Everything about an annotator's page (question order, which answer is shown first, where the attention checks sit)
is drawn at creation from a seeded stream and stored, so it can be reported and never changes on a reload.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from persona.data.io import read_jsonl
from persona.data.persona import Persona
from persona.errors import InputError
from persona.study.attention import CHECKS

ANSWER_FIELDS = ("question", "answer_a", "answer_b")

# What to paste as the Prolific study URL after the server's address: Prolific fills in the three ids.
PROLIFIC_URL = "/start?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}"


class StudyDesign(BaseModel):
    """What ``persona annotate create`` builds: the source of questions and the paper's study design, configurable."""

    model_config = ConfigDict(extra="forbid")

    items: str = Field(
        description="a pairs run dir, a LOO run dir or its questions.jsonl, or a JSONL/CSV of question, answer_a, "
        "answer_b (with persona_id when each persona has its own questions)"
    )
    personas: str | None = Field(
        default=None,
        description="a personas.jsonl or its run dir, or draw:SOURCE for a bare draw (default: the pairs run's)",
    )
    n_personas: int = Field(default=20, gt=0, description="personas in the study")
    annotators: int = Field(default=4, gt=0, description="annotators per persona; each sees exactly one persona")
    questions: int = Field(default=10, gt=0, description="preference questions per persona")
    attention: float = Field(default=0.1, ge=0, le=0.5, description="attention checks, as a share of questions")
    min_justification: int = Field(default=20, ge=1, description="characters a justification needs at least")
    max_justification: int = Field(default=2000, ge=20, description="characters a justification may have at most")
    majority: int = Field(default=3, gt=0, description="annotators who must agree for the human majority label")
    entry: Literal["links", "prolific"] = Field(
        default="links", description="personal links (links.csv), or a Prolific entry URL that hands out assignments"
    )
    prolific_study_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9]{1,64}$",
        description="the Prolific study's id: an entry with another STUDY_ID is refused",
    )
    completion_code: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="one code for everyone (e.g. the Prolific study's); default: a code per annotator",
    )
    min_age: int = Field(default=18, ge=0, description="youngest persona drawn from a census source")
    title: str = Field(default="Role-play study", max_length=200)
    seed: int = 0

    @model_validator(mode="after")
    def _coherent(self) -> StudyDesign:
        if self.majority > self.annotators:
            raise ValueError(f"majority {self.majority} exceeds annotators per persona {self.annotators}")
        if self.min_justification > self.max_justification:
            raise ValueError("min_justification exceeds max_justification")
        if self.attention_checks() > len(CHECKS):
            raise ValueError(
                f"attention {self.attention} asks for more checks per annotator than the {len(CHECKS)} there are"
            )
        return self

    def attention_checks(self) -> int:
        """Checks per annotator: the share of questions, rounded up, so any positive share gives at least one."""
        return math.ceil(self.attention * self.questions - 1e-9)

    def default_dir(self) -> Path:
        return Path("outputs") / f"study-{Path(self.items).stem}-seed{self.seed}"


class Item(BaseModel):
    """A question with its two answers in their original orientation (the one the export reports choices in)."""

    id: str
    question: str
    answer_a: str
    answer_b: str
    chosen: Literal["A", "B"] | None = None  # which answer DPF chose, for a pairs source
    attention: bool = False
    expected: Literal["A", "B"] | None = None  # the answer an attentive reader picks, for an attention check


class Source(NamedTuple):
    """What a study draws from: personas, and either questions every persona can get or each persona's own."""

    personas: list[Persona]
    shared: list[Item] | None
    own: dict[str, list[Item]] | None


class Task(NamedTuple):
    item: Item
    swapped: bool  # answer B is shown first (on the left, labelled A)


class Assignment(NamedTuple):
    label: str
    persona_id: str
    slot: int
    tasks: list[Task]


class Plan(NamedTuple):
    personas: list[Persona]
    items: list[Item]  # every question of the study, attention checks last
    assignments: list[Assignment]  # in the order a Prolific entry hands them out: every persona's slot 0 first


def _text_fields(row: dict, where: str) -> tuple[str, str, str]:
    values = []
    for name in ANSWER_FIELDS:
        value = row.get(name)
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"{where}: {name} is missing or empty")
        values.append(value)
    return values[0], values[1], values[2]


def _read_rows(path: Path) -> list[dict]:
    if path.suffix == ".csv":
        import pandas as pd

        try:
            return pd.read_csv(path, dtype=str, keep_default_na=False).to_dict("records")
        except (ValueError, pd.errors.ParserError) as exc:
            raise InputError(f"{path}: {exc}") from None
    return read_jsonl(path)


def read_source(design: StudyDesign) -> Source:
    """The personas and questions a design names, checked: every failure names the file and record."""
    from persona.data.population import load_personas

    path = Path(design.items)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    personas_from = design.personas
    if path.is_dir():
        if (path / "pairs.jsonl").exists():
            personas_from = personas_from or str(path / "personas.jsonl")
            path = path / "pairs.jsonl"
        elif (path / "questions.jsonl").exists():
            path = path / "questions.jsonl"
        else:
            raise InputError(f"{path}: neither a pairs run (pairs.jsonl) nor a LOO run (questions.jsonl)")
    rows = _read_rows(path)
    if not rows:
        raise InputError(f"{path}: no questions")
    if personas_from is None:
        raise InputError(f"{path}: say whose questions these are with --personas (a personas run dir or draw:acs12)")
    personas = load_personas(personas_from, design.n_personas, design.seed, design.min_age)
    known = {p.id for p in personas}
    if "chosen" in rows[0] and "prompt" in rows[0]:
        own = _pairs_items(rows, path, design.seed)
    elif "persona_id" in rows[0]:
        own = {}
        for number, row in enumerate(rows, start=1):
            question, a, b = _text_fields(row, f"{path}: record {number}")
            persona_id = str(row["persona_id"])
            item_id = f"{persona_id}/{row.get('id', number)}"
            own.setdefault(persona_id, []).append(Item(id=item_id, question=question, answer_a=a, answer_b=b))
    else:
        shared, seen = [], set()
        for number, row in enumerate(rows, start=1):
            question, a, b = _text_fields(row, f"{path}: record {number}")
            item_id = str(row.get("id", number))
            if item_id in seen:
                raise InputError(f"{path}: record {number}: id {item_id} appears twice")
            seen.add(item_id)
            shared.append(Item(id=item_id, question=question, answer_a=a, answer_b=b))
        return Source(personas, shared, None)
    unknown = sorted(set(own) - known)
    if unknown:
        raise InputError(f"{path}: persona_id {unknown[0]} is not among the personas of {personas_from}")
    for persona_id, items in own.items():
        ids = [item.id for item in items]
        if len(set(ids)) < len(ids):
            raise InputError(f"{path}: persona {persona_id} has two questions with the same id")
    return Source(personas, None, own)


def _pairs_items(rows: list[dict], path: Path, seed: int) -> dict[str, list[Item]]:
    """A pairs run's finished pairs; each pair's orientation is drawn, so "A" is not always the chosen answer."""
    own: dict[str, list[Item]] = {}
    for number, row in enumerate(rows, start=1):
        if not row.get("chosen") or not row.get("rejected"):
            continue  # a pair whose building failed has nothing to show
        persona_id = str(row.get("persona_id", ""))
        if not persona_id or not row.get("prompt_id"):
            raise InputError(f"{path}: record {number}: persona_id or prompt_id is missing")
        item_id = f"{persona_id}/{row['prompt_id']}"
        swap = bool(np.random.default_rng([seed, 17, number]).integers(2))
        answers = (row["rejected"], row["chosen"]) if swap else (row["chosen"], row["rejected"])
        item = Item(
            id=item_id, question=row["prompt"], answer_a=answers[0], answer_b=answers[1], chosen="B" if swap else "A"
        )
        own.setdefault(persona_id, []).append(item)
    if not own:
        raise InputError(f"{path}: no finished pairs (every record has an empty chosen or rejected answer)")
    return own


def plan_study(design: StudyDesign, source: Source) -> Plan:
    """Draw the study: personas, their questions, and every annotator's order of questions, answers and checks."""
    rng = np.random.default_rng([design.seed, 16])
    shared = source.shared or []
    if source.own is not None:
        eligible = [p for p in source.personas if len(source.own.get(p.id, ())) >= design.questions]
        what = f"personas with at least {design.questions} questions"
    else:
        if len(shared) < design.questions:
            raise InputError(f"{design.items}: {len(shared)} questions, fewer than --questions {design.questions}")
        eligible = list(source.personas)
        what = "personas"
    if len(eligible) < design.n_personas:
        raise InputError(
            f"{design.items}: {len(eligible)} {what}, fewer than --n-personas {design.n_personas}; "
            "lower --n-personas or --questions"
        )
    chosen = sorted(rng.choice(len(eligible), size=design.n_personas, replace=False))
    personas = [eligible[i] for i in chosen]
    questions: dict[str, list[Item]] = {}
    for persona in personas:
        pool = source.own[persona.id] if source.own is not None else shared
        picked = sorted(rng.choice(len(pool), size=design.questions, replace=False))
        questions[persona.id] = [pool[i] for i in picked]
    checks = [
        Item(
            id=f"attention-{n + 1}",
            question=c.question,
            answer_a=c.expected,
            answer_b=c.other,
            attention=True,
            expected="A",
        )
        for n, c in enumerate(CHECKS)
    ]
    assignments = []
    for slot in range(design.annotators):
        for index, persona in enumerate(personas):
            number = slot * len(personas) + index
            stream = np.random.default_rng([design.seed, 18, number])
            mine = questions[persona.id]
            order = [mine[i] for i in stream.permutation(len(mine))]
            for check in stream.choice(len(checks), size=design.attention_checks(), replace=False):
                order.insert(int(stream.integers(1, len(order) + 1)), checks[int(check)])  # never first
            tasks = [Task(item, bool(stream.integers(2))) for item in order]
            assignments.append(Assignment(f"h{number + 1:03d}", persona.id, slot, tasks))
    seen: dict[str, Item] = {}
    for persona in personas:
        seen.update((item.id, item) for item in questions[persona.id])
    used = {task.item.id for a in assignments for task in a.tasks if task.item.attention}
    items = list(seen.values()) + [c for c in checks if c.id in used]
    return Plan(personas, items, assignments)
