"""Attention-check questions: each has one answer that anyone reading the page picks, whoever they play."""

from __future__ import annotations

from typing import NamedTuple


class AttentionCheck(NamedTuple):
    question: str
    expected: str  # the answer a reader picks
    other: str


CHECKS: tuple[AttentionCheck, ...] = (
    AttentionCheck(
        "This question checks that answers are being read. Whoever the person is, pick the answer that names a colour.",
        "The colour of a clear sky at noon is blue.",
        "A week has seven days in it.",
    ),
    AttentionCheck(
        "How many legs does a typical dog have? Answer as a fact, not as the person.",
        "Four.",
        "Eleven.",
    ),
    AttentionCheck(
        "To show you are paying attention, pick the answer that starts with the word 'Yes'.",
        "Yes, I am reading each question before answering.",
        "I skim questions and pick answers at random.",
    ),
    AttentionCheck(
        "Which of these is a fruit? Answer as a fact, not as the person.",
        "An apple.",
        "A hammer.",
    ),
    AttentionCheck(
        "This is an attention check. Pick the answer that contains the number 7.",
        "The number to pick is 7.",
        "There is no number in this answer.",
    ),
)
