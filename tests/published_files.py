"""Small files in the PERSONA dataset's published layout, built here (the hub is not reachable from tests)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from persona.data.persona import ATTRIBUTES

SEXES = ("Female", "Male")
VIEWS = ("Democrat", "Republican", "Independent")


def profile(number: int) -> str:
    """A profile as the hub writes it: 33 lowercase ``key: value`` lines, ``nan`` and ``Not applicable`` for
    missing values, and (on every third persona) a key beyond the 33 and a line that is not ``key: value``."""
    values = {name: f"{name} value {number}" for name in ATTRIBUTES}
    values |= {
        "age": f"{20 + number}.0" if number % 2 else str(20 + number),
        "sex": SEXES[number % 2],
        "political views": VIEWS[number % 3],
        "income": "178900",
        "fertility": "nan",
        "class of worker": "Not applicable",
        "vision difficulty": "None",
    }
    lines = [f"{name.lower()}: {value}" for name, value in values.items()]
    if number % 3 == 0:
        lines += ["favourite colour: green", "likes long walks"]
    return "\n".join(lines)


def published_frame(personas: int = 6, prompts: int = 4, shared: bool = True) -> pd.DataFrame:
    """``personas`` x ``prompts`` rows; the last prompt of each persona is a test question. With ``shared``, every
    persona answers the same prompts (as on the hub, where each prompt goes to about 80 personas)."""
    rows = []
    for p in range(personas):
        for q in range(prompts):
            question = f"Question {q}: should cities ban cars downtown?" if shared else f"Q{p}-{q}?"
            rows.append(
                {
                    "persona": profile(p),
                    "instruction": question,
                    "original": f"A generic answer to {q}.",
                    "data": f"An answer for persona {p} to {q}.",
                    "critique": None if (p + q) % 5 == 0 else f"Critique {p}-{q}.",
                    "question type": "test" if q == prompts - 1 else "train",
                }
            )
    return pd.DataFrame(rows)


def write(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif path.suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        frame.fillna("").to_csv(path, index=False)
    return path
