"""Pure bench metrics: slice predicates, mention matching for summaries, agreement from annotation files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from persona.data.persona import ATTRIBUTES
from persona.experiments.agreement import (
    AnnotationError,
    agreement,
    load_annotations,
    read_annotations,
    write_agreement,
)
from persona.metrics.mentions import drop_frequency, dropped_by_match, mentioned
from persona.metrics.slices import Predicate, PredicateError, slice_accuracy

WOMAN = {"sex": "Female", "age": "29", "marital status": "Never married", "religion": None, "income": "$45,000"}
MAN = {"sex": "Male", "age": "52", "marital status": "Married", "religion": "Catholic", "income": "120000"}


@pytest.mark.parametrize(
    ("text", "woman", "man"),
    [
        ('sex == "Female" and 18 <= age <= 34', True, False),
        ("age > 40", False, True),
        ('sex == "Female" or religion == "Catholic"', True, True),
        ('not sex == "Female"', False, True),
        ('religion in ["Catholic", "Protestant"]', False, True),
        ('religion not in ["Catholic"]', True, False),
        ('`marital status` == "Married"', False, True),
        ('marital_status != "Married"', True, False),
        ("income >= 50000", False, True),
        ("(age < 30 or age > 50) and income < 100000", True, False),
    ],
)
def test_predicates(text, woman, man):
    predicate = Predicate(text, ATTRIBUTES)
    assert predicate(WOMAN) is woman and predicate(MAN) is man


def test_a_missing_value_never_satisfies_a_numeric_comparison():
    assert not Predicate("age < 100")({"age": None}) and not Predicate("age >= 0")({})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("age <", "not a predicate"),
        ("height > 2", "unknown attribute 'height'"),
        ("__import__('os')", "expected a comparison"),
        ("age == age.real", "expected an attribute name"),
        ("age in 30", "needs a list"),
        ("age + 1 > 3", "expected an attribute name"),
    ],
)
def test_predicates_outside_the_syntax_are_refused_with_the_reason(text, message):
    with pytest.raises(PredicateError, match=message):
        Predicate(text, ATTRIBUTES)


def test_slice_accuracy_counts_and_ci():
    personas = {"w": WOMAN, "m": MAN}
    records = pd.DataFrame(
        {
            "persona_id": ["w", "w", "w", "m", "m", "w"],
            "mode": ["cot", "cot", "cot", "cot", "cot", "cot"],
            "passed": [True, False, True, True, True, None],
        }
    )
    table = slice_accuracy(records, personas, [Predicate('sex == "Female"'), Predicate("age > 90")])
    women = table.iloc[0]
    assert women["personas"] == 1 and women["answers"] == 3 and women["pass_rate"] == pytest.approx(2 / 3)
    assert women["low"] <= 2 / 3 <= women["high"]
    nobody = table.iloc[1]
    assert nobody["answers"] == 0 and pd.isna(nobody["pass_rate"])
    with pytest.raises(ValueError, match="not in the persona file"):
        slice_accuracy(records.assign(persona_id="x"), personas, [Predicate("age > 1")])


def test_mentions_exact_synonym_and_distinctive_words():
    assert mentioned("Female", "She is a nurse") and not mentioned("Female", "A nurse in Ohio")
    assert mentioned("$45,000", "earns 45000 a year") and mentioned("45000", "earns $45,000")
    assert mentioned("Software developers", "works among developers") and not mentioned("Male", "a mall")
    assert mentioned("Never married", "single, 29") and mentioned("U.S. citizen", "an American")
    summary = "A 29-year-old woman who is single."
    assert dropped_by_match(WOMAN, summary) == ["income"]  # religion is unknown, so it cannot be dropped


def test_drop_frequency_per_method_skips_failed_judges():
    records = [
        {"known": ["age", "sex"], "llm": ["age"], "match": ["age", "sex"]},
        {"known": ["age", "sex"], "llm": None, "match": []},
        {"known": ["age"], "llm": [], "match": ["age"]},
    ]
    table = drop_frequency(records, ("llm", "match")).set_index("attribute")
    assert table.loc["age", "llm_share"] == pytest.approx(1 / 2)  # the failed judge is left out
    assert table.loc["age", "match_share"] == pytest.approx(2 / 3)
    assert table.loc["sex", "match_share"] == pytest.approx(1 / 2) and table.loc["age", "summaries"] == 3


def _annotations(tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for persona in ("p1", "p2", "p3"):
        truth = rng.choice(["A", "B"], size=10)
        for annotator, flip in (("human", 0.0), ("gpt", 0.2), ("coin", 0.5)):
            for item, choice in enumerate(truth):
                other = "B" if choice == "A" else "A"
                rows.append((annotator, persona, f"i{item}", other if rng.random() < flip else choice))
    frame = pd.DataFrame(rows, columns=["annotator", "persona_id", "item_id", "choice"])
    frame[frame.annotator == "human"].to_csv(tmp_path / "human.csv", index=False)
    with open(tmp_path / "models.jsonl", "w") as handle:
        for row in frame[frame.annotator != "human"].to_dict("records"):
            handle.write(json.dumps(row) + "\n")
    return frame


def test_agreement_matches_sklearn_pooled_and_per_persona(tmp_path):
    frame = _annotations(tmp_path)
    loaded = load_annotations([tmp_path / "human.csv", tmp_path / "models.jsonl"])
    result = agreement(loaded)
    h, g = (frame[frame.annotator == a].sort_values(["persona_id", "item_id"]) for a in ("human", "gpt"))
    assert result.matrix.loc["human", "gpt"] == pytest.approx(cohen_kappa_score(h.choice, g.choice))
    row = result.per_persona.query("first == 'gpt' and second == 'human' and persona_id == 'p2'").iloc[0]
    hp, gp = h[h.persona_id == "p2"], g[g.persona_id == "p2"]
    assert row["kappa"] == pytest.approx(cohen_kappa_score(hp.choice, gp.choice)) and row["items"] == 10
    write_agreement(loaded, ["human.csv", "models.jsonl"], tmp_path / "out")
    for name in ("kappa_matrix.csv", "per_persona.csv", "kappa_matrix.png", "kappa_hist.png", "agreement.md"):
        assert (tmp_path / "out" / name).stat().st_size > 0


def test_annotation_files_with_problems_are_named(tmp_path):
    (tmp_path / "a.csv").write_text("annotator,persona_id,choice\nh,p1,A\n")
    with pytest.raises(AnnotationError, match=r"a.csv: missing columns \['item_id'\]"):
        read_annotations(tmp_path / "a.csv")
    (tmp_path / "b.csv").write_text("annotator,persona_id,item_id,choice\nh,p1,i1,A\nh,p1,i2,\n")
    with pytest.raises(AnnotationError, match=r"b\.csv: row 2 has an empty field"):
        read_annotations(tmp_path / "b.csv")
    (tmp_path / "c.csv").write_text("annotator,persona_id,item_id,choice\nh,p1,i1,A\nh,p1,i1,B\n")
    with pytest.raises(AnnotationError, match="labels persona p1 item i1 twice"):
        read_annotations(tmp_path / "c.csv")
    with pytest.raises(AnnotationError, match=r"expected a \.csv or \.jsonl"):
        (tmp_path / "d.txt").write_text("x")
        read_annotations(tmp_path / "d.txt")
