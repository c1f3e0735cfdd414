"""Deterministic prompt curation: the paper's rules, de-duplication, and a topic-stratified split."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from persona.data.prompts import Prompt, normalise

MIN_WORDS = 5
PAPER_SPLIT = (3000, 868)  # train : held-out prompts in the paper
UNLABELLED = "unlabelled"


QUESTION_MARKS = ("?", "\uff1f", "\u061f")  # ASCII, full-width (CJK) and Arabic question marks


def _is_cjk(char: str) -> bool:
    return "\u3040" <= char <= "\u30ff" or "\u3400" <= char <= "\u9fff" or "\uac00" <= char <= "\ud7af"


def word_count(text: str) -> int:
    """Whitespace-separated words; in scripts written without spaces (CJK), each character counts as one."""
    count = 0
    for token in normalise(text).split():
        cjk = sum(_is_cjk(char) for char in token)
        count += cjk if cjk else 1
    return count


def rule_reason(text: str) -> str | None:
    """Why the paper's rules drop a prompt (no question mark; fewer than five words), or None to keep it."""
    if not any(mark in text for mark in QUESTION_MARKS):
        return "no question mark"
    if word_count(text) < MIN_WORDS:
        return f"fewer than {MIN_WORDS} words"
    return None


def dedupe_key(text: str) -> str:
    """Prompts equal up to case, spacing and trailing punctuation count as one."""
    return normalise(text).casefold().rstrip("?!. ")


def apply_rules(prompts: Sequence[Prompt]) -> tuple[list[Prompt], list[dict[str, str]]]:
    """Kept prompts (text normalised) and one ``{id, text, reason}`` per dropped prompt, in input order."""
    kept: list[Prompt] = []
    dropped: list[dict[str, str]] = []
    first: dict[str, str] = {}
    for prompt in prompts:
        reason = rule_reason(prompt.text)
        key = dedupe_key(prompt.text)
        if reason is None and key in first:
            reason = f"duplicate of {first[key]}"
        if reason is not None:
            dropped.append({"id": prompt.id, "text": prompt.text, "reason": reason})
            continue
        first[key] = prompt.id
        kept.append(prompt.model_copy(update={"text": normalise(prompt.text)}))
    return kept, dropped


def stratified_split(prompts: Sequence[Prompt], ratio: tuple[int, int], seed: int) -> dict[str, str]:
    """Assign each prompt to ``train`` or ``heldout`` so every topic splits in the ratio (largest remainders).

    Each topic first gets its floor share of training prompts; the remaining training places go to the topics with
    the largest fractional remainders, so the total matches the ratio as closely as whole prompts allow. A topic
    with at least two prompts always has at least one in each split.
    """
    share = ratio[0] / sum(ratio)
    by_topic: dict[str, list[Prompt]] = defaultdict(list)
    for prompt in prompts:
        by_topic[prompt.topic or UNLABELLED].append(prompt)
    topics = sorted(by_topic)
    exact = {t: len(by_topic[t]) * share for t in topics}
    train = {t: int(np.floor(exact[t])) for t in topics}
    spare = round(len(prompts) * share) - sum(train.values())
    for topic in sorted(topics, key=lambda t: (-(exact[t] - train[t]), t))[: max(spare, 0)]:
        train[topic] += 1
    rng = np.random.default_rng([seed, 3])
    split: dict[str, str] = {}
    for topic in topics:
        members = by_topic[topic]
        count = min(max(train[topic], 1), len(members) - 1) if len(members) >= 2 else train[topic]
        order = rng.permutation(len(members))
        for rank, index in enumerate(order):
            split[members[index].id] = "train" if rank < count else "heldout"
    return split
