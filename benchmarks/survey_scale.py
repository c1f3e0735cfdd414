"""Decoding a large survey and fitting the non-LLM baselines on it: wall time per step.

A synthetic survey in the card format, at the scale a big public survey reaches: 100,000 respondents x 50 ordered
3-option items, with GSS-like demographics (age, sex, race, degree, income band, party, ideology; a few values
missing) and answers that depend on party and age, so the regression has something to learn. The baselines are
fitted on half the respondents and predict the other half, as `realism` does with `fit_share = 0.5`.

    .venv/bin/python benchmarks/survey_scale.py [--respondents 100000] [--items 50]

Target: decoding and fitting under 20 s on 2 cores.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from persona.data.surveys import load_survey
from persona.programs.baselines import BASELINES, predict_baselines


def write_survey(folder: Path, respondents: int, items: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    party = rng.integers(0, 7, respondents)
    age = rng.integers(18, 90, respondents).astype(float)
    age[rng.random(respondents) < 0.01] = np.nan
    frame = pd.DataFrame(
        {
            "id": np.arange(respondents),
            "age": age,
            "sex": rng.integers(0, 2, respondents),
            "race": rng.integers(1, 4, respondents),
            "degree": rng.integers(0, 5, respondents),
            "income": np.where(rng.random(respondents) < 0.3, np.nan, rng.integers(1, 27, respondents)),
            "party": party,
            "ideology": rng.integers(1, 8, respondents),
        }
    )
    lean = (party - 3) / 3 + (np.nan_to_num(age, nan=50) - 50) / 60
    for i in range(items):
        score = lean * rng.uniform(-1, 1) + rng.normal(0, 1, respondents)
        answer = np.digitize(score, [-0.5, 0.5]) - 1.0
        answer[rng.random(respondents) < 0.05] = np.nan
        frame[f"q{i}"] = answer
    frame.to_csv(folder / "big.csv", index=False)
    labels = lambda n, start=0: "{ " + ", ".join(f'"{c}" = "level {c}"' for c in range(start, start + n)) + " }"  # noqa: E731
    card = [
        'name = "big"\ndata = "big.csv"\nid = "id"\n[demographics]\nage = { column = "age" }',
        f'sex = {{ column = "sex", values = {labels(2)} }}',
        f'race = {{ column = "race", values = {labels(3, 1)} }}',
        f'education = {{ column = "degree", values = {labels(5)} }}',
        f'income = {{ column = "income", values = {labels(26, 1)} }}',
        f'"political views" = {{ column = "party", values = {labels(7)} }}',
        f'ideology = {{ column = "ideology", values = {labels(7, 1)} }}',
    ]
    for i in range(items):
        card.append(
            f'[[items]]\ncolumn = "q{i}"\nquestion = "Question {i}?"\n'
            'options = { "-1" = "Too much", "0" = "About right", "1" = "Too little" }\nordered = true'
        )
    path = folder / "big.toml"
    path.write_text("\n".join(card) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=50)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        card = write_survey(Path(folder), args.respondents, args.items)
        start = time.perf_counter()
        survey = load_survey(card)
        rows.append(("read and decode the card's data", time.perf_counter() - start))
        everyone = np.random.default_rng(1).permutation(len(survey))
        fit, predict = np.sort(everyone[: len(everyone) // 2]), np.sort(everyone[len(everyone) // 2 :])
        items = [item.column for item in survey.card.items]
        for name in BASELINES:
            start = time.perf_counter()
            predict_baselines(survey, items, fit, predict, 0, (name,))
            rows.append((f"fit and predict: {name}", time.perf_counter() - start))
    table = Table("step", "wall", title=f"{args.respondents:,} respondents x {args.items} items")
    for step, seconds in rows:
        table.add_row(step, f"{seconds:.1f} s")
    table.add_row("total", f"{sum(s for _, s in rows):.1f} s")
    Console().print(table)


if __name__ == "__main__":
    main()
