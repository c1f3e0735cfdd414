"""A cheap, LM-free stand-in for the bench judge, for optimizers that score thousands of candidate answers.

It checks what can be checked without a model: the answer does not quote the persona (no attribute value
verbatim, no "N-year-old"), says something (enough words, not the question echoed back), and does not loop
(the same words over and over, as small models do). The score is the share of checks passed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

MIN_WORDS = 8
MIN_DISTINCT = 0.4  # distinct words / words; looping answers fall far below
QUOTABLE = 7  # values shorter than this ("Male", "White", "Female") are everyday words, not quotes


class ProxyScore(NamedTuple):
    subtle: bool
    substantive: bool
    not_echo: bool
    not_looping: bool

    @property
    def value(self) -> float:
        return sum(self) / len(self)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def quoted_attributes(attributes: Mapping[str, str | None], answer: str) -> list[str]:
    """Attributes whose whole value appears in the answer word for word, and an age given as "N-year-old"."""
    text = f" {' '.join(_words(answer))} "
    quoted = [
        name
        for name, value in attributes.items()
        if value and len(value) >= QUOTABLE and f" {' '.join(_words(value))} " in text and name != "age"
    ]
    age = attributes.get("age")
    if age and re.search(rf"\b{re.escape(age)}[- ]year[- ]old\b", answer.lower()):
        quoted.insert(0, "age")
    return quoted


def proxy_score(attributes: Mapping[str, str | None], question: str, answer: str) -> ProxyScore:
    words = _words(answer)
    return ProxyScore(
        subtle=not quoted_attributes(attributes, answer),
        substantive=len(words) >= MIN_WORDS,
        not_echo=set(words) - set(_words(question)) != set() and len(words) > len(_words(question)) // 2,
        not_looping=bool(words) and len(set(words)) / len(words) >= MIN_DISTINCT,
    )
