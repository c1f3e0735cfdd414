"""The persona card an annotator reads: known attributes in a few groups a person takes in at a glance."""

from __future__ import annotations

from typing import Any

GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Who they are",
        ("age", "sex", "race", "ancestry", "place of birth", "citizenship", "household language",
         "ability to speak English"),
    ),
    (
        "Work and money",
        ("education", "employment status", "class of worker", "industry category", "occupation category",
         "detailed job description", "income"),
    ),
    ("Home and family", ("marital status", "household type", "family presence and age", "fertility", "veteran status")),
    (
        "Health",
        ("disability", "health insurance", "cognitive difficulty", "vision difficulty", "hearing difficulty"),
    ),
    ("Personality and daily life", ("big five scores", "defining quirks", "mannerisms", "personal time", "lifestyle")),
    ("Beliefs", ("ideology", "political views", "religion")),
)  # fmt: skip


def persona_card(record: dict[str, Any]) -> list[tuple[str, list[tuple[str, str]]]]:
    """``(group, [(attribute, value), ...])`` for the groups with any known value, then the open-ended profile."""
    attributes = record.get("attributes", {})
    card = []
    for title, names in GROUPS:
        rows = [(name, str(attributes[name])) for name in names if attributes.get(name) is not None]
        if rows:
            card.append((title, rows))
    profile = [(name, str(value)) for name, value in record.get("profile", {}).items()]
    if profile:
        card.append(("More about them", profile))
    return card
