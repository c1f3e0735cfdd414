"""Metric adapters for DSPy optimizers: the judge metric's control flow (DummyLM) and the LM-free proxy."""

from __future__ import annotations

import dspy
import pytest
from dspy.utils import DummyLM

from persona.metrics.proxy import proxy_score, quoted_attributes
from persona.programs.optimize import JudgeMetric, proxy_metric
from persona.runs.inputs import load_personas, split_personas

ATTRIBUTES = {"age": "44", "sex": "Male", "occupation category": "Registered nurses", "religion": "Catholic"}


def _example() -> dspy.Example:
    return dspy.Example(
        question="Should I take a second job?", persona="age: 44\nsex: Male", attributes=ATTRIBUTES
    ).with_inputs("question", "persona")


def test_judge_metric_scores_the_verdict_and_counts_unparseable_ones():
    judge = DummyLM(
        [
            {"critique": "fits", "needs_revision": False},
            {"critique": "generic", "needs_revision": True},
            *[{"critique": "???"} for _ in range(3)],  # no verdict field: every re-ask fails to parse
        ]
    )
    metric = JudgeMetric(judge)
    answer = dspy.Prediction(answer="Consider your hours first.")
    assert metric(_example(), answer) == 1.0
    assert metric(_example(), answer) == 0.0
    assert metric(_example(), answer) == 0.0 and metric.failures == 1 and metric.calls == 3
    prompt = judge.history[0]["messages"][-1]["content"]
    assert "Consider your hours first." in prompt and "age: 44" in prompt


@pytest.mark.parametrize(
    ("answer", "quoted"),
    [
        ("As a 44-year-old nurse you should rest.", ["age"]),
        ("Registered nurses often have overtime; weigh that.", ["occupation category"]),
        ("As a Catholic, pray on it.", ["religion"]),
        ("A male friend once told me to sleep on it.", []),  # short values are too common to count as quotes
        ("Think about your schedule and what rest you need.", []),
    ],
)
def test_quoted_attributes(answer, quoted):
    assert quoted_attributes(ATTRIBUTES, answer) == quoted


def test_proxy_checks_and_scores():
    good = "Look at how many hours you can add without losing sleep, and what the extra money is for."
    assert all(proxy_score(ATTRIBUTES, "Should I take a second job?", good))
    looping = "yes " * 30
    assert not proxy_score(ATTRIBUTES, "Q?", looping).not_looping
    echo = proxy_score(ATTRIBUTES, "Should I take a second job?", "Should I take a second job?")
    assert not echo.not_echo and not echo.substantive
    assert proxy_metric(_example(), dspy.Prediction(answer=good)) == 1.0
    quoting = dspy.Prediction(answer="As a 44-year-old, look at how many hours you can add without losing sleep.")
    assert proxy_metric(_example(), quoting) == pytest.approx(0.75)
    assert proxy_metric(_example(), quoting, trace=[]) == 0.0  # demos must pass every check


def test_persona_split_is_seeded_by_id_and_disjoint():
    personas = load_personas("acs12", 20, 1, 18)
    split = split_personas(personas, 0.25, seed=3)
    train, heldout = ({p.id for p in split[side]} for side in ("train", "heldout"))
    assert len(heldout) == 5 and not train & heldout and len(train | heldout) == 20
    again = split_personas(list(reversed(personas)), 0.25, seed=3)
    assert {p.id for p in again["heldout"]} == heldout  # order of the input does not move anyone
    assert {p.id for p in split_personas(personas, 0.25, seed=4)["heldout"]} != heldout
    with pytest.raises(ValueError, match="between 0 and 1"):
        split_personas(personas, 1.0, seed=3)
