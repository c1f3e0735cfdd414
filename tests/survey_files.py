"""A small survey of the tests' own, as a CSV and its card: so the card format is not tied to the GSS."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

CARD = """name = "town-survey"
data = "town.csv"
id = "rid"
weight = "wt"

[demographics]
age = {{ column = "age" }}
sex = {{ column = "sex", values = {{ "1" = "Female", "2" = "Male" }} }}
"political views" = {{ column = "party", values = {{ "D" = "Democrat", "R" = "Republican" }} }}
"years in town" = {{ column = "years" }}

[[items]]
column = "parks"
question = "Should the town spend more, the same or less on its parks?"
options = {{ "1" = "Less", "2" = "The same", "3" = "More" }}
ordered = true

[[items]]
column = "bus"
question = "Should the town run a night bus?"
options = {{ "y" = "Yes", "n" = "No"{extra} }}
"""


def town_frame(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """``n`` respondents: parks follows party exactly (D more, R less), the bus question is noise; a few answers
    and one age are missing."""
    rng = np.random.default_rng(seed)
    party = np.where(np.arange(n) % 2 == 0, "D", "R")
    frame = pd.DataFrame(
        {
            "rid": [f"t{i:03d}" for i in range(n)],
            "wt": rng.uniform(0.5, 2.0, n).round(3),
            "age": rng.integers(18, 90, n).astype(float),
            "sex": rng.integers(1, 3, n),
            "party": party,
            "years": rng.integers(0, 40, n),
            "parks": np.where(party == "D", 3, 1).astype(float),
            "bus": rng.choice(["y", "n"], n),
        }
    )
    frame.loc[3, "parks"] = np.nan
    frame.loc[5, "bus"] = None
    frame.loc[7, "age"] = np.nan
    return frame


def write_survey(folder: Path, frame: pd.DataFrame | None = None, extra_option: str = "") -> Path:
    """The CSV and its card in ``folder``; returns the card's path."""
    folder.mkdir(parents=True, exist_ok=True)
    (town_frame() if frame is None else frame).to_csv(folder / "town.csv", index=False)
    card = folder / "town.toml"
    card.write_text(CARD.format(extra=extra_option))
    return card
