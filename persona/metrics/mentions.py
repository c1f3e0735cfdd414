"""Which persona attributes a text still carries: exact and synonym matching, the LM-free half of summary analysis."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

# Words too common to show that an attribute's value survived into a summary.
_STOP = frozenset(
    "a an and are as at be by for from has have in is it not of on or the to with without no none other "
    "only than that this who high low average extremely some".split()
)

# Values whose usual paraphrases share no word with them. Keys are lower-case values.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "female": ("woman", "women", "she", "her", "mother", "wife", "girl", "lady"),
    "male": ("man", "men", "he", "his", "him", "father", "husband", "boy", "guy"),
    "not married": ("single", "unmarried"),
    "never married": ("single", "unmarried"),
    "married": ("spouse", "husband", "wife"),
    "u.s. citizen": ("american", "citizen"),
    "employed": ("works", "working", "job", "employee"),
    "unemployed": ("jobless", "out of work", "looking for work"),
    "not in labor force": ("retired", "student", "not working"),
    "nothing in particular": ("non-religious", "not religious", "secular"),
    "atheist": ("non-religious", "not religious", "secular"),
    "agnostic": ("non-religious", "not religious", "secular"),
    "with a disability": ("disabled", "disability"),
    "english only": ("english",),
    "high school or lower": ("high school",),
}


def _words(text: str) -> list[str]:
    """Lower-case words; "$75,000" reads as "75000" and "U.S." as "u.s", the same in values and in texts."""
    return re.findall(r"[a-z0-9']+(?:\.[a-z0-9']+)*", re.sub(r"(?<=\d),(?=\d)", "", text.lower()))


def mentioned(value: str, text: str) -> bool:
    """Whether ``text`` carries ``value``: the whole value, a synonym, or one of its distinctive words.

    A distinctive word is one of the value's words that is not a stop word and is at least four characters long
    (numbers of any length count), so "Software developer" survives as "developer" but "Male" does not survive as
    "a". Matching is on whole words, case-insensitive.
    """
    lowered = f" {' '.join(_words(text))} "
    value_lower = value.lower().strip()
    phrases = [value_lower, *SYNONYMS.get(value_lower, ())]
    if any(f" {' '.join(_words(phrase))} " in lowered for phrase in phrases if _words(phrase)):
        return True
    distinctive = [w for w in _words(value_lower) if w not in _STOP and (len(w) >= 4 or w.isdigit())]
    if value_lower in SYNONYMS:  # short categorical values are matched by phrase and synonym only
        return False
    return any(f" {word} " in lowered for word in distinctive)


def dropped_by_match(attributes: Mapping[str, str | None], text: str) -> list[str]:
    """The known attributes whose values ``text`` does not carry, in the attributes' order."""
    return [name for name, value in attributes.items() if value is not None and not mentioned(value, text)]


def drop_frequency(records: Iterable[Mapping[str, Any]], methods: tuple[str, ...]) -> pd.DataFrame:
    """Per attribute, the share of summaries that dropped it, by each method (Figure 11).

    Each record has ``known`` (the attribute names the persona had) and, per method, a list of dropped names;
    a record with no list for a method (its judge failed) is left out of that method's share.
    """
    rows: dict[str, dict[str, list[int]]] = {}
    for record in records:
        for method in methods:
            dropped = record.get(method)
            if dropped is None:
                continue
            for name in record["known"]:
                counts = rows.setdefault(name, {m: [0, 0] for m in methods})[method]
                counts[0] += name in dropped
                counts[1] += 1
    table = [
        {"attribute": name}
        | {f"{m}_share": (c[0] / c[1] if c[1] else None) for m, c in counts.items()}
        | {"summaries": max(c[1] for c in counts.values())}
        for name, counts in rows.items()
    ]
    columns = ["attribute", *(f"{m}_share" for m in methods), "summaries"]
    return pd.DataFrame(table, columns=columns)


# Words by which a question asks about an attribute without naming it ("How old are you?" asks for the age).
ASKED_BY: dict[str, tuple[str, ...]] = {
    "age": ("old", "age", "born", "birthday", "young"),
    "sex": ("gender", "sex", "woman", "man"),
    "income": ("income", "earn", "salary", "money", "afford", "budget", "paid"),
    "education": ("school", "degree", "college", "education", "studied", "university"),
    "employment status": ("work", "job", "employed", "career"),
    "occupation category": ("work", "job", "occupation", "profession"),
    "detailed job description": ("work", "job", "occupation", "profession", "do for a living"),
    "marital status": ("married", "partner", "spouse", "single", "relationship"),
    "household type": ("household", "live with", "family"),
    "family presence and age": ("children", "kids", "family"),
    "political views": ("politic", "vote", "party", "conservative", "liberal"),
    "ideology": ("politic", "conservative", "liberal", "believe", "values"),
    "religion": ("religio", "faith", "church", "god", "believe"),
    "place of birth": ("born", "from", "grew up"),
    "citizenship": ("citizen", "from"),
}


def leaked(attributes: Mapping[str, str | None], asked: str, reply: str) -> list[str]:
    """The attributes a reply gives away unasked: those whose value ``reply`` carries (as ``mentioned`` matches it)
    while the question ``asked`` neither asks about the attribute (its name's distinctive words, or the words in
    ``ASKED_BY``) nor carries its value. A simulated user who answers "how old are you?" with their age leaks
    nothing; one who adds their religion does."""
    question = f" {' '.join(_words(asked))} "
    leaks = []
    for name, value in attributes.items():
        if value is None or not mentioned(value, reply):
            continue
        cues = [w for w in _words(name) if w not in _STOP and len(w) >= 3] + list(ASKED_BY.get(name, ()))
        named = any(f" {cue}" in question for cue in cues)  # a cue may start a word: "politic" in "political"
        if not named and not mentioned(value, asked):
            leaks.append(name)
    return leaks
