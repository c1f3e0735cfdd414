"""What runs share: personas from a census source or a population run, prompts from a split, and the records of
the stages several kinds run (judged samples, DPF pairs)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from pydantic import BaseModel

from persona.data.census import CensusSample
from persona.data.filters import PAPER_SPLIT, apply_rules, stratified_split
from persona.data.io import read_jsonl
from persona.data.persona import Persona
from persona.data.population import is_census_source, load_personas
from persona.data.prompts import Prompt, load_embedded_prompts, value_laden
from persona.data.sources import load_source
from persona.errors import InputError
from persona.experiments.population import built_personas, population_stage
from persona.lm.config import ModelConfig
from persona.programs.responders import history_k
from persona.runs.records import Record
from persona.runs.session import Session

PARTS = ("train", "heldout")
POPULATION = "population"  # the role that checks and fills census personas


PersonasInput = CensusSample | list[Persona]  # a source to build personas from in the run, or personas as given


def read_personas_input(spec: Any) -> PersonasInput:
    """What an experiment's personas come from, read before any run dir exists so a bad input writes nothing: the
    census source it builds them from, or the personas of a file or run dir."""
    if is_census_source(spec.personas):
        return load_source(spec.personas)
    return load_personas(spec.personas, spec.n_personas, spec.seed, spec.min_age)


def experiment_personas(session: Session, spec: Any, given: PersonasInput) -> list[Persona]:
    """An experiment's personas: those of a file as they are, or ``spec.n_personas`` built from a census source
    through the full pipeline (consistency check and filling) as the run's ``personas`` stage."""
    if isinstance(given, list):
        return given
    _, stage = population_stage(session, given, spec.n_personas, spec.seed, spec.min_age, spec.population, POPULATION)
    personas = built_personas(stage)
    if stage.aborted or not personas:
        session.stop(f"{stage.failed} of {len(stage.entries)} persona slots failed; see run.log")
    return personas


def role_models(spec: Any, roles: Iterable[str], given: PersonasInput) -> dict[str, ModelConfig]:
    """The models of ``roles`` and, when the run builds census personas with an LM, of the population role."""
    needs = not isinstance(given, list) and spec.population.uses_lm()
    names = [role for role in roles if role != POPULATION] + ([POPULATION] if needs else [])
    return {role: spec.models[role] for role in names}


def load_split_prompts(prompts: str, seed: int) -> dict[str, list[Prompt]]:
    """Train and held-out value-laden prompts: a curated run's split (the classifier already dropped what people
    agree on), or the embedded set's value-laden questions under the rules and the paper's ratio."""
    if prompts == "embedded":
        kept, _ = apply_rules(value_laden(load_embedded_prompts()))
        split = stratified_split(kept, PAPER_SPLIT, seed)
        return {part: [p for p in kept if split[p.id] == part] for part in PARTS}
    path = Path(prompts)
    rows = read_jsonl(path / "prompts.jsonl" if path.is_dir() else path)
    missing = [i for i, row in enumerate(rows, start=1) if "split" not in row or "text" not in row]
    if missing:
        raise InputError(f"{path}: record {missing[0]} has no split/text; give a `persona prompts curate` output")
    fields = set(Prompt.model_fields)
    parsed = [(Prompt.model_validate({k: v for k, v in row.items() if k in fields}), row["split"]) for row in rows]
    return {part: value_laden([p for p, s in parsed if s == part]) for part in PARTS}


def split_personas(personas: list[Persona], heldout: float, seed: int) -> dict[str, list[Persona]]:
    """Train and held-out personas: a seeded shuffle of the ids, so a persona's side never depends on list order.

    ``heldout`` is the held-out share; at least one persona lands on each side when there are two or more.
    """
    if not 0 < heldout < 1:
        raise ValueError(f"held-out share must be between 0 and 1, got {heldout}")
    ids = sorted({p.id for p in personas})
    order = np.random.default_rng([seed, 8]).permutation(len(ids))
    count = min(max(round(len(ids) * heldout), 1), len(ids) - 1) if len(ids) > 1 else 0
    held = {ids[i] for i in order[:count]}
    return {
        "train": [p for p in personas if p.id not in held],
        "heldout": [p for p in personas if p.id in held],
    }


class Item(NamedTuple):
    """One question asked of one persona: what runs plan and key their stages by (pairs also say its split)."""

    persona: Persona
    prompt: Prompt
    split: str | None = None

    @property
    def key(self) -> str:
        return f"{self.persona.id}|{self.prompt.id}"


class JudgeFailure(BaseModel):
    """A verdict that never parsed: never a pass or a fail, always counted."""

    type: str
    attempts: int


class Sample(BaseModel):
    """One judged answer. ``trace`` is what a plug-in responder kept beside its answer; built-in ones keep none."""

    sample: int
    answer: str
    summary: str | None
    trace: dict[str, Any] | None = None
    critique: str | None
    passed: bool | None
    judge_error: JudgeFailure | None


class JudgedSamples(Record):
    """An item's judged answers, one per sample drawn."""

    samples: list[Sample]


class PairRecord(Record):
    """One DPF pair as built: the persona's revision (chosen) of the generic answer (rejected), lengths in tokens."""

    chosen: str
    rejected: str
    critique: str
    chosen_tokens: int
    rejected_tokens: int
    revision_attempts: int
    shorter: bool


SAMPLE_FIELDS = tuple(name for name in Sample.model_fields if name != "trace")  # a plug-in's trace goes last


def traced_row(record: dict[str, Any], traced: bool) -> dict[str, Any]:
    """An answer's record as a result row. A run with a plug-in responder (``traced``) gets a last column, ``trace``:
    what the responder kept beside its answer, null where it kept nothing; other runs have no such column."""
    row = {name: value for name, value in record.items() if name != "trace"}
    return row | {"trace": record.get("trace")} if traced else row


def judged_samples(
    lms: Mapping[str, Any],
    tested: str,
    mode: str,
    samples: int,
    temperature: float,
    histories: Mapping[str, list[Any]] | None = None,
) -> Callable[[Item], JudgedSamples]:
    """The work of a stage that draws ``samples`` answers per item from the model of role ``tested`` in ``mode``
    (a built-in mode or a plug-in's path) and judges each on its own. ``histories`` holds each persona's train
    pairs, for a ``history@k`` mode."""
    from persona.programs.bench import BenchItem

    program = BenchItem(lms[tested], lms["judge"], mode, lms)

    def work(item: Item) -> JudgedSamples:
        result = program(
            question=item.prompt.text,
            persona=item.persona.as_prompt(),
            record=item.persona,
            samples=samples,
            temperature=temperature,
            context={"history": histories.get(item.persona.id, [])} if histories and history_k(mode) else None,
        )
        return JudgedSamples(samples=result.samples)

    return work


def dpf_pairs(lms: Mapping[str, Any]) -> Callable[[Any], PairRecord]:
    """The work of a stage that builds one DPF pair per item (anything with a ``persona`` and a ``prompt``): the
    generator's generic answer, critiqued and revised for the persona by the ``persona`` role."""
    from persona.programs.preferences import DPFPair

    program = DPFPair(generator=lms["generator"], critic=lms["persona"])

    def work(item: Any) -> PairRecord:
        pair = program(question=item.prompt.text, persona=item.persona.as_prompt())
        built = {name: pair[name] for name in PairRecord.fields() if name != "shorter"}
        return PairRecord(**built, shorter=pair.chosen_tokens < pair.rejected_tokens)

    return work
