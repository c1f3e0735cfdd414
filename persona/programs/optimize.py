"""Bench metrics in the shape DSPy optimizers call: ``metric(example, prediction, trace=None) -> float``.

An example carries ``question``, ``persona`` (the text the responder saw) and ``attributes`` (the persona's known
attributes, for the LM-free proxy); a prediction carries ``answer``.
"""

from __future__ import annotations

import threading
from typing import Any

import dspy
from dspy.utils.exceptions import AdapterParseError

from persona.metrics.proxy import proxy_score
from persona.programs.bench import RevisionJudge


class JudgeMetric:
    """The bench's revision judge as a metric: 1.0 when the judge finds no revision needed, else 0.0.

    The judge model is fixed at construction, and its calls go through the run's cache like any other, so an
    optimizer that scores the same answer twice pays once. A judge output that never parses scores 0.0 and is
    counted in ``failures``, so a report can say how often that happened.

    Args:
        judge: the judge model, kept apart from the model being optimized.
    """

    def __init__(self, judge: dspy.LM | None = None) -> None:
        self.judge = RevisionJudge(judge)
        self.failures = 0
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, example: dspy.Example, prediction: Any, trace: Any = None) -> float:
        with self._lock:
            self.calls += 1
        try:
            verdict = self.judge(question=example.question, persona=example.persona, answer=prediction.answer)
        except AdapterParseError:
            with self._lock:
                self.failures += 1
            return 0.0
        return 1.0 if verdict.passed else 0.0


def proxy_metric(example: dspy.Example, prediction: Any, trace: Any = None) -> float:
    """LM-free stand-in for the judge (see ``persona.metrics.proxy``): the share of its checks the answer passes.

    While bootstrapping demos (``trace`` given) only answers passing every check count, so no demo quotes the
    persona or loops.
    """
    score = proxy_score(example.attributes, example.question, prediction.answer or "")
    return float(all(score)) if trace is not None else score.value
