"""A kind of run of your own, in its own module: each persona introduces themselves in one sentence.

It runs on the engine like a built-in kind (resume after kill -9, replay with no model call, --workers, Ray) with
no edit to persona-testbed: a spec names it by import path.

    # intro.toml
    kind = "examples.introductions:INTRODUCTIONS"
    n = 3

    persona run intro.toml
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, NamedTuple

import dspy
from pydantic import Field

from persona import Kind, Manifest, Metrics, OneModelSpec, Persona, Record, Session, sample_personas, write_jsonl


class Introduce(dspy.Signature):
    """You are this person. Introduce yourself to a new neighbour in one friendly sentence."""

    persona: str = dspy.InputField(desc="who you are")
    introduction: str = dspy.OutputField(desc="one sentence, first person")


class IntroSpec(OneModelSpec):
    kind: Literal["examples.introductions:INTRODUCTIONS"] = "examples.introductions:INTRODUCTIONS"
    n: int = Field(default=3, gt=0, description="personas drawn from the embedded census sample")

    def default_dir(self) -> Path:
        return Path("outputs") / f"introductions-n{self.n}-seed{self.seed}"


INTRODUCTIONS = Kind("introductions", IntroSpec)


@INTRODUCTIONS.measures
class IntroMetrics(Metrics):
    introduced: int
    mean_words: float | None = Field(description="mean length of the introductions, in words")


class IntroResult(NamedTuple):
    run_dir: Path
    manifest: Manifest


@INTRODUCTIONS.reads
def personas(spec: IntroSpec) -> list[Persona]:
    """Read before any run dir exists, so bad input writes nothing."""
    return sample_personas(spec.n, seed=spec.seed, min_age=18)


class Introduction(Record):
    """What the stage stores per persona; a record with any other shape fails its item, by name."""

    introduction: str


def introducer(lms):
    """The work of the stage, built only when a persona is left to introduce (a finished run replays without it)."""
    introduce = dspy.Predict(Introduce)
    introduce.lm = lms["model"]
    return lambda p: {"introduction": introduce(persona=p.as_prompt()).introduction}


@INTRODUCTIONS.runs
def run(session: Session, spec: IntroSpec, personas: list[Persona]) -> IntroResult:
    stage = session.stage(
        "introductions", personas, key=lambda p: p.id, make_work=introducer, record=Introduction, label="introductions"
    )
    rows = stage.rows(personas, lambda p: {"persona_id": p.id}, Introduction.fields())  # a failure: a row of nulls
    write_jsonl(session.run_dir / "introductions.jsonl", rows)
    words = [len(r["introduction"].split()) for r in rows if r["error"] is None]
    metrics = IntroMetrics(introduced=len(words), mean_words=sum(words) / len(words) if words else None)
    manifest = session.finish(files=["introductions.jsonl"], metrics=metrics, report=report)
    return IntroResult(session.run_dir, manifest)


@INTRODUCTIONS.reports
def report(manifest: Manifest) -> str:
    m = manifest.results(IntroMetrics)
    return f"# Introductions\n\n{m.introduced} of {manifest.spec['n']} personas introduced themselves.\n"
