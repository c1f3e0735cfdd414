"""Human/model agreement (the paper's section 4.2, Figures 6 to 9): import annotations, or produce model ones by
role-play, then pairwise Cohen's kappa between annotators imitating the same personas.

An annotation is one row: ``annotator``, ``persona_id``, ``item_id``, ``choice``. Kappa is reported two ways: pooled
over every (persona, item) both annotators labelled (the matrix), and per persona over its items (the histograms:
how often two annotators agree when playing the same person).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
from pydantic import Field

from persona.data.io import atomic_write_text, make_folder, read_jsonl, write_jsonl
from persona.data.persona import Persona
from persona.data.population import DRAW, load_personas
from persona.errors import InputError
from persona.lm.config import ModelConfig
from persona.lm.roles import Role
from persona.metrics import kappa, kappa_matrix
from persona.reports.figures import kappa_heatmap, kappa_histograms, save_figure
from persona.runs.kinds import Kind
from persona.runs.manifest import Metrics
from persona.runs.records import Record
from persona.runs.session import RunRecords, Session
from persona.runs.spec import OneModelSpec, model_slug, spec_fingerprint

COLUMNS = ("annotator", "persona_id", "item_id", "choice")
CHOICES = ("A", "B")  # exactly as the annotator signature writes them; kappa would count "b" as a third label


class AnnotationError(InputError):
    """An annotation file that cannot be read as annotator, persona id, item id, choice rows."""


def read_annotations(path: Path) -> pd.DataFrame:
    """One annotation file (CSV or JSONL) as rows of the four columns, as strings; names the file and row at fault."""
    path = Path(path)
    if not path.exists():
        raise AnnotationError(f"{path}: no such file")
    if path.suffix not in (".csv", ".jsonl", ".json"):
        raise AnnotationError(f"{path}: expected a .csv or .jsonl file")
    try:
        if path.suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        else:
            frame = pd.DataFrame(read_jsonl(path))
    except InputError as exc:  # read_jsonl's message names the file and line already
        raise AnnotationError(str(exc)) from None
    except (ValueError, pd.errors.ParserError) as exc:
        raise AnnotationError(f"{path}: {exc}") from None
    if frame.empty:
        raise AnnotationError(f"{path}: no annotation rows")
    missing = [column for column in COLUMNS if column not in frame.columns]
    if missing:
        raise AnnotationError(f"{path}: missing columns {missing}; annotations need {', '.join(COLUMNS)}")
    frame = frame[list(COLUMNS)].astype(str)
    blank = frame.apply(lambda row: any(v.strip() in ("", "nan", "None") for v in row), axis=1)
    if blank.any():
        row = int(np.flatnonzero(blank.to_numpy())[0])
        raise AnnotationError(f"{path}: row {row + 1} has an empty field ({frame.iloc[row].to_dict()})")
    choices = frame["choice"].str.strip()
    wrong = ~choices.isin(CHOICES)
    if wrong.any():
        row = int(np.flatnonzero(wrong.to_numpy())[0])
        raise AnnotationError(
            f"{path}: row {row + 1}: choice {frame['choice'].iloc[row]!r} is not allowed; a choice is A or B"
        )
    frame["choice"] = choices
    twice = frame.duplicated(["annotator", "persona_id", "item_id"])
    if twice.any():
        row = frame[twice].iloc[0]
        raise AnnotationError(
            f"{path}: annotator {row['annotator']!r} labels persona {row['persona_id']} item {row['item_id']} twice"
        )
    return frame.reset_index(drop=True)


def load_annotations(paths: list[Path]) -> pd.DataFrame:
    frames = [read_annotations(path) for path in paths]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(COLUMNS))
    twice = frame.duplicated(["annotator", "persona_id", "item_id"])
    if twice.any():
        row = frame[twice].iloc[0]
        raise AnnotationError(f"annotator {row['annotator']!r} appears in more than one file with the same items")
    return frame


class Agreement(NamedTuple):
    matrix: pd.DataFrame  # pooled kappa, annotator x annotator
    per_persona: pd.DataFrame  # first, second, persona_id, items, kappa


def agreement(annotations: pd.DataFrame) -> Agreement:
    """Pooled kappa matrix and per-persona kappa for every annotator pair: pure, from the rows alone."""
    pooled = annotations.assign(item=annotations["persona_id"] + "|" + annotations["item_id"])
    matrix = kappa_matrix(pooled[["annotator", "item", "choice"]])
    rows = []
    names = sorted(annotations["annotator"].unique())
    for persona_id, group in annotations.groupby("persona_id", sort=True):
        series = {name: g.set_index("item_id")["choice"] for name, g in group.groupby("annotator")}
        for first, second in itertools.combinations(names, 2):
            if first in series and second in series:
                shared = series[first].index.intersection(series[second].index)
                value = kappa(series[first], series[second])
                rows.append(
                    {"first": first, "second": second, "persona_id": persona_id, "items": len(shared), "kappa": value}
                )
    return Agreement(matrix, pd.DataFrame(rows, columns=["first", "second", "persona_id", "items", "kappa"]))


def write_agreement(annotations: pd.DataFrame, sources: list[str], out: Path = Path("outputs/agreement")) -> Agreement:
    """kappa_matrix.csv, per_persona.csv, the heatmap and histograms, and agreement.md into ``out``."""
    result = agreement(annotations)
    make_folder(out)
    atomic_write_text(out / "kappa_matrix.csv", result.matrix.to_csv(float_format="%.6f"))
    atomic_write_text(out / "per_persona.csv", result.per_persona.to_csv(index=False, float_format="%.6f"))
    save_figure(kappa_heatmap(result.matrix, "Cohen's kappa, pooled over personas and items"), out / "kappa_matrix.png")
    distributions = {
        f"{a} vs {b}": group["kappa"].tolist() for (a, b), group in result.per_persona.groupby(["first", "second"])
    }
    save_figure(kappa_histograms(distributions), out / "kappa_hist.png")
    atomic_write_text(out / "agreement.md", render_agreement(annotations, result, sources))
    return result


def render_agreement(annotations: pd.DataFrame, result: Agreement, sources: list[str]) -> str:
    fmt = lambda v: "n/a" if v is None or not np.isfinite(v) else f"{v:.3f}"  # noqa: E731
    names = list(result.matrix.index)
    lines = [
        "# Annotator agreement",
        "",
        f"{len(annotations)} annotations by {len(names)} annotators over "
        f"{annotations['persona_id'].nunique()} personas and {annotations['item_id'].nunique()} items, from "
        + ", ".join(f"`{s}`" for s in sources)
        + ".",
        "",
        "## Pooled Cohen's kappa",
        "",
        "| | " + " | ".join(names) + " |",
        "|---" * (len(names) + 1) + "|",
        *(f"| {a} | " + " | ".join(fmt(result.matrix.loc[a, b]) for b in names) + " |" for a in names),
        "",
        "![kappa matrix](kappa_matrix.png)",
        "",
        "## Per-persona kappa",
        "",
        "| annotators | personas | kappa defined | median | mean |",
        "|---|---|---|---|---|",
    ]
    for (a, b), group in result.per_persona.groupby(["first", "second"], sort=True):
        values = group["kappa"].to_numpy(dtype=float)
        defined = values[np.isfinite(values)]
        median = float(np.median(defined)) if defined.size else None
        mean = float(defined.mean()) if defined.size else None
        lines.append(f"| {a} vs {b} | {len(values)} | {defined.size} | {fmt(median)} | {fmt(mean)} |")
    lines += [
        "",
        "Kappa is undefined (n/a) with fewer than two shared items or when both annotators give one and the same "
        "choice throughout.",
        "",
        "![kappa per persona](kappa_hist.png)",
        "",
    ]
    return "\n".join(lines)


class AnnotateSpec(OneModelSpec):
    """Model annotations by role-play for the items humans (or other models) annotated."""

    MODEL_ROLE = Role(max_tokens=160)  # a choice and a sentence of reasoning

    items: str = Field(description="JSONL of id, question, answer_a, answer_b (e.g. a LOO run's questions.jsonl)")
    personas: str = Field(description="a personas.jsonl or its run dir, or draw:SOURCE (a bare procedural draw)")
    n_personas: int = Field(default=20, gt=0, description="personas drawn when `personas` is draw:SOURCE")
    min_age: int = Field(default=18, ge=0, description="census personas are drawn from people at least this old")
    like: str | None = Field(default=None, description="annotation file whose (persona, item) rows to annotate")
    name: str | None = Field(default=None, description="annotator label in the output (default: the model string)")
    kind: Literal["annotate"] = "annotate"

    def default_dir(self) -> Path:
        return Path("outputs") / f"annotations-{model_slug(self.name or self.model.model)}-seed{self.seed}"

    def fingerprint(self) -> str:
        """A bare draw was named by its source alone (``acs12``) before ``draw:`` existed; it is fingerprinted
        under that name, so run dirs made then still claim their spec and replay."""
        old_name = self.personas.removeprefix(DRAW)
        return spec_fingerprint(self.model_copy(update={"personas": old_name}))


ANNOTATE = Kind("annotate", AnnotateSpec)


@ANNOTATE.measures
class AnnotateMetrics(Metrics):
    """How many (persona, item) tasks the model annotated."""

    tasks: int
    annotated: int
    failed: int


class AnnotationRecord(Record):
    """The annotator's pick between a task's two answers (``A`` or ``B``), and why."""

    choice: str
    reasoning: str


class Task(NamedTuple):
    persona: Persona
    item: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.persona.id}|{self.item['id']}"


def read_items(path: Path) -> dict[str, dict[str, Any]]:
    rows = read_jsonl(path)
    for number, row in enumerate(rows, start=1):
        missing = {"id", "question", "answer_a", "answer_b"} - set(row)
        if missing:
            raise AnnotationError(f"{path}: record {number} lacks {sorted(missing)}")
    return {str(row["id"]): row for row in rows}


@ANNOTATE.reads
def _tasks(spec: AnnotateSpec) -> list[Task]:
    """Every (persona, item) to annotate, or exactly those of ``spec.like``: read before any run dir exists."""
    items = read_items(Path(spec.items))
    personas = {p.id: p for p in load_personas(spec.personas, spec.n_personas, spec.seed, spec.min_age)}
    if spec.like:
        wanted = read_annotations(Path(spec.like))[["persona_id", "item_id"]].drop_duplicates()
        for column, known, what in (("persona_id", personas, "personas"), ("item_id", items, "items")):
            unknown = sorted(set(wanted[column]) - set(known))
            if unknown:
                raise AnnotationError(f"{spec.like}: {column} {unknown[0]} is not among the {what} given")
        tasks = [Task(personas[p], items[i]) for p, i in wanted.itertuples(index=False)]
    else:
        tasks = [Task(persona, item) for persona in personas.values() for item in items.values()]
    return tasks


@ANNOTATE.needs
def _models(spec: AnnotateSpec, tasks: list[Task]) -> dict[str, ModelConfig]:
    return {"annotator": spec.model}


def _annotate(lms: Mapping[str, Any]) -> Callable[[Task], dict[str, Any]]:
    """The annotator model, role-playing the task's persona, picks one of the item's two answers."""
    from persona.programs.bench import RolePlayAnnotator

    annotator = RolePlayAnnotator(lms["annotator"])

    def work(task: Task) -> dict[str, Any]:
        verdict = annotator(
            persona=task.persona.as_prompt(),
            question=task.item["question"],
            answer_a=task.item["answer_a"],
            answer_b=task.item["answer_b"],
        )
        return {"choice": verdict.choice, "reasoning": verdict.reasoning}

    return work


@ANNOTATE.runs
def _run(session: Session, spec: AnnotateSpec, tasks: list[Task]) -> RunRecords:
    """Role-play every task and write annotations.jsonl with the model string as annotator."""
    stage = session.stage("annotations", tasks, key=lambda task: task.key, make_work=_annotate, record=AnnotationRecord)
    rows = [
        {"annotator": spec.name or spec.model.model, "persona_id": t.persona.id, "item_id": str(t.item["id"])}
        | {"choice": e.record["choice"], "reasoning": e.record["reasoning"]}
        for t, e in zip(tasks, stage.entries, strict=True)
        if e.record is not None
    ]
    write_jsonl(session.run_dir / "annotations.jsonl", rows)
    manifest = session.finish(
        files=["annotations.jsonl"],
        metrics=AnnotateMetrics(tasks=len(tasks), annotated=len(rows), failed=stage.failed),
        report=lambda manifest: (
            f"# Role-play annotations by `{manifest.models['annotator'].model}`\n\n"
            f"{len(rows)} of {len(tasks)} tasks annotated, {stage.failed} failed.\n\n{manifest.cost_line()}\n"
        ),
    )
    return RunRecords(session.run_dir, rows, manifest)


annotate = ANNOTATE.entry("annotate")


@ANNOTATE.summarises
def _summary(result: RunRecords) -> list[str]:
    m = result.manifest.results(AnnotateMetrics)
    return [f"{m.annotated} of {m.tasks} tasks annotated: [cyan]{result.run_dir / 'annotations.jsonl'}[/]"]
