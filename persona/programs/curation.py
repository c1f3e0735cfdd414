"""Prompt curation with an LM: keep questions that divide opinion, and label each with a topic."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

import dspy

from persona.data.prompts import Prompt
from persona.programs.retrying import ReaskingPredict
from persona.signatures.controversy import AssignTopic, JudgeControversy

OTHER_TOPIC = "other"


class PromptClassifier(dspy.Module):
    """Controversiality verdict for every prompt; a topic from ``topics`` for prompts that arrive without one.

    Topics are LM labels from a fixed list rather than embedding clusters: the labels are readable, stable
    across runs and sources, and need no embedding model. An answer outside the list is mapped to the closest
    listed topic, or to ``other``.

    Example:
        >>> PromptClassifier(topics=["money"])(prompt=Prompt(id="1", text="Rent or buy?")).topic  # doctest: +SKIP
    """

    def __init__(self, lm: dspy.LM | None = None, topics: Sequence[str] = ()) -> None:
        super().__init__()
        self.topics = list(topics)
        self.judge = ReaskingPredict(JudgeControversy)
        self.label = ReaskingPredict(AssignTopic)
        self.judge.lm = self.label.lm = lm

    def forward(self, prompt: Prompt) -> dspy.Prediction:
        verdict = self.judge(question=prompt.text)
        if prompt.topic or not self.topics:
            topic, labelled_by = prompt.topic or OTHER_TOPIC, "source"
        else:
            topic, labelled_by = self._closest(self.label(question=prompt.text, topics=self.topics).topic), "lm"
        return dspy.Prediction(
            diverse_opinions=verdict.diverse_opinions, reason=verdict.reason, topic=topic, topic_by=labelled_by
        )

    def _closest(self, answer: str) -> str:
        wanted = answer.strip().casefold()
        exact = [t for t in self.topics if t.casefold() == wanted]
        if exact:
            return exact[0]
        close = difflib.get_close_matches(wanted, [t.casefold() for t in self.topics], n=1, cutoff=0.6)
        return next((t for t in self.topics if close and t.casefold() == close[0]), OTHER_TOPIC)
