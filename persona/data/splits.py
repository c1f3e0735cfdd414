"""Whole personas to ``train`` or ``test_unseen``: the split a personalized model is judged on people it never saw.

The prompt split (``train`` / ``test_seen`` / ``test_heldout``) says whether a *question* was seen; this one says
whether a *person* was. A record carries both, so "unseen people on held-out prompts" is one filter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from persona.data.persona import ATTRIBUTES, Persona
from persona.errors import InputError

PERSONA_SPLITS = ("train", "test_unseen")


def unseen_count(n: int, unseen: float) -> int:
    """How many of ``n`` personas are held out: a share (0 < unseen < 1, rounded) or a count (a whole number >= 1).

    The paper's 1,000 / 568 on 1,568 personas is ``unseen = 568`` (a share of 0.36 gives 564).
    """
    if unseen <= 0:
        raise InputError(f"unseen: {unseen} must be a share between 0 and 1 or a count of personas")
    if unseen >= 1 and unseen != int(unseen):
        raise InputError(f"unseen: {unseen} must be a share between 0 and 1 or a whole number of personas")
    count = round(n * unseen) if unseen < 1 else int(unseen)
    if not 0 < count < n:
        raise InputError(f"unseen: {unseen} of {n} personas leaves no persona on one side ({count} held out)")
    return count


def persona_splits(
    personas: Sequence[Persona], unseen: float, seed: int, stratify: str | None = None
) -> dict[str, str]:
    """Each persona's side, seeded and independent of list order. With ``stratify`` (an attribute name), each of
    its values (missing is one more value) sends its share to each side, rounded so the total is exact, and a
    value held by two or more personas has at least one on each side (which can move the total by a few when small
    groups are many: the report gives the counts)."""
    if stratify is not None and stratify not in ATTRIBUTES:
        raise InputError(f"stratify: {stratify!r} is not a persona attribute; the names are persona.data.ATTRIBUTES")
    ids = sorted({p.id for p in personas})
    total = unseen_count(len(ids), unseen)
    rng = np.random.default_rng([seed, 24])
    if stratify is None:
        drawn = {ids[i] for i in rng.permutation(len(ids))[:total]}
        return {i: "test_unseen" if i in drawn else "train" for i in ids}
    value = {p.id: p.attributes.get(stratify) or "" for p in personas}
    groups: dict[str, list[str]] = {}
    for i in ids:
        groups.setdefault(value[i], []).append(i)
    names = sorted(groups)
    exact = np.array([len(groups[g]) * total / len(ids) for g in names])
    quota = np.floor(exact).astype(int)
    # Largest remainders first, so the quotas add up to the total exactly; ties broken by the seeded draw.
    order = sorted(range(len(names)), key=lambda k: (-(exact[k] - quota[k]), rng.random()))
    for k in order[: total - int(quota.sum())]:
        quota[k] += 1
    for k, name in enumerate(names):  # both sides for every group that can have them
        size = len(groups[name])
        if size >= 2:
            quota[k] = min(max(quota[k], 1), size - 1)
    held: set[str] = set()
    for k, name in enumerate(names):
        members = groups[name]
        held |= {members[i] for i in rng.permutation(len(members))[: quota[k]]}
    return {i: "test_unseen" if i in held else "train" for i in ids}


def with_persona_split(row: dict, sides: dict[str, str]) -> dict:
    """A pair record with its persona's side as ``persona_split``, right after its prompt ``split``."""
    made: dict = {}
    for key, value in row.items():
        if key != "persona_split":
            made[key] = value
        if key == "split":
            made["persona_split"] = sides[row["persona_id"]]
    return made


def split_counts(pairs: Iterable[tuple[str, str]], sides: dict[str, str]) -> dict[str, dict[str, int]]:
    """Personas and pairs on each side, and pairs per prompt split, from each pair's (persona id, prompt split):
    what a split report shows."""
    table = {side: {"personas": sum(s == side for s in sides.values()), "pairs": 0} for side in PERSONA_SPLITS}
    for persona_id, split in pairs:
        counts = table[sides[persona_id]]
        counts["pairs"] += 1
        counts[f"pairs {split}"] = counts.get(f"pairs {split}", 0) + 1
    return table


def persona_split_line(counts: dict[str, dict[str, int]]) -> str:
    """One line of a report: each persona split's personas and pairs."""
    return "; ".join(f"{side} {c['personas']} personas, {c['pairs']} pairs" for side, c in counts.items()) + "."
