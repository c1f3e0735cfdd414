"""Prompt sets: the embedded questions (written for this project), each with an id and a topic label."""

from __future__ import annotations

from importlib.resources import files

from pydantic import BaseModel, ConfigDict

from persona.data.io import read_jsonl


class Prompt(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    topic: str
    text: str


def load_embedded_prompts() -> list[Prompt]:
    path = files("persona.data.reference").joinpath("prompts.jsonl")
    return [Prompt.model_validate(record) for record in read_jsonl(path)]
