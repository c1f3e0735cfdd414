"""Pass rate and its bootstrap interval, against hand-computed values."""

import math

import numpy as np
import pytest

from persona.metrics import pass_rate


def test_pass_rate_value_and_interval():
    # 3 passes out of 4 -> 0.75; every bootstrap mean lies in {0, .25, .5, .75, 1}, the interval must hold 0.75.
    estimate = pass_rate([True, True, False, True], resamples=2000, seed=1)
    assert estimate.value == 0.75 and estimate.n == 4
    assert 0.0 <= estimate.low <= 0.75 <= estimate.high <= 1.0
    assert estimate.low in {0.0, 0.25, 0.5} and estimate.high == 1.0


def test_empty_is_nan_not_a_crash():
    estimate = pass_rate([])
    assert math.isnan(estimate.value) and math.isnan(estimate.low) and estimate.n == 0


def test_unanimous_data_has_a_zero_width_interval():
    assert pass_rate([False] * 5) == (0.0, 0.0, 0.0, 5)


def test_seed_makes_the_interval_reproducible():
    data = [True, False, True, True, False, False, True]
    assert pass_rate(data, seed=3) == pass_rate(data, seed=3)


def test_bootstrap_coverage_on_a_known_bernoulli():
    # 200 samples of n=200 at p=0.3: a 95% interval should contain 0.3 about 95% of the time.
    rng = np.random.default_rng(0)
    hits = sum(
        (lambda e: e.low <= 0.3 <= e.high)(pass_rate(rng.random(200) < 0.3, resamples=500, seed=i)) for i in range(200)
    )
    assert 0.88 <= hits / 200 <= 0.99


def test_pass_at_k_matches_hand_computation_and_edges():
    from math import comb

    from persona.metrics import pass_at_k

    assert pass_at_k(5, 2, 2) == pytest.approx(1 - comb(3, 2) / comb(5, 2))  # 1 - 3/10 = 0.7
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)  # pass@1 is the pass rate
    assert pass_at_k(4, 0, 4) == 0.0 and pass_at_k(4, 0, 1) == 0.0  # c == 0
    assert pass_at_k(4, 1, 4) == 1.0 and pass_at_k(4, 4, 4) == 1.0  # n == k: any pass counts
    assert pass_at_k(200, 1, 100) == pytest.approx(0.5)  # large n without overflow
    for bad in ((3, 1, 4), (3, 1, 0), (3, 4, 1)):
        with pytest.raises(ValueError):
            pass_at_k(*bad)


def test_pass_at_k_curve_uses_items_with_enough_samples():
    from persona.metrics import pass_at_k_curve

    curve = pass_at_k_curve([[True, False, False, False], [False, False], [True, True, True, True]], [1, 2, 4, 8])
    assert curve[1] == pytest.approx((0.25 + 0.0 + 1.0) / 3)
    assert curve[2] == pytest.approx((0.5 + 0.0 + 1.0) / 3)
    assert curve[4] == pytest.approx((1.0 + 1.0) / 2) and math.isnan(curve[8])


def test_kappa_matrix_matches_scikit_learn_and_is_nan_where_undefined():
    import pandas as pd
    from sklearn.metrics import cohen_kappa_score

    from persona.metrics import kappa_matrix

    a = ["A", "B", "A", "A", "B", "B"]
    b = ["A", "B", "B", "A", "B", "A"]
    rows = [{"annotator": "human", "item": i, "choice": c} for i, c in enumerate(a)]
    rows += [{"annotator": "model", "item": i, "choice": c} for i, c in enumerate(b)]
    rows += [{"annotator": "constant", "item": i, "choice": "A"} for i in range(6)]
    rows += [{"annotator": "same", "item": i, "choice": "A"} for i in range(6)]
    rows += [{"annotator": "loner", "item": 99, "choice": "B"}]
    matrix = kappa_matrix(pd.DataFrame(rows).sample(frac=1.0, random_state=0))  # row order must not matter
    assert matrix.loc["human", "model"] == pytest.approx(cohen_kappa_score(a, b))
    assert matrix.loc["model", "human"] == matrix.loc["human", "model"] and matrix.loc["human", "human"] == 1.0
    assert matrix.loc["human", "constant"] == pytest.approx(cohen_kappa_score(a, ["A"] * 6))  # 0: chance level
    assert math.isnan(matrix.loc["constant", "same"])  # both always "A": chance agreement 1, kappa undefined
    assert math.isnan(matrix.loc["human", "loner"])  # no shared items
    with pytest.raises(ValueError, match="labelled item 0 more than once"):
        kappa_matrix(pd.DataFrame([*rows, {"annotator": "human", "item": 0, "choice": "B"}]))


def test_loo_pairing_follows_labels_not_row_order():
    import pandas as pd
    from sklearn.metrics import cohen_kappa_score

    from persona.metrics import loo_kappas

    plan = {
        ("religion", 0): (["A", "B", "A", "B"], ["A", "B", "A", "B"]),  # no change: kappa 1
        ("religion", 1): (["A", "A", "B", "B"], ["B", "B", "A", "A"]),  # every choice flips: kappa -1
        ("income", 0): (["A", "B", "B", "A"], ["A", "B", "A", "A"]),
    }
    rows = [
        {"attribute": attribute, "pair": pair, "variant": variant, "item": item, "choice": choice}
        for (attribute, pair), sides in plan.items()
        for variant, choices in zip(("without", "with"), sides, strict=True)
        for item, choice in enumerate(choices)
    ]
    shuffled = pd.DataFrame(rows).sample(frac=1.0, random_state=3).reset_index(drop=True)
    result = loo_kappas(shuffled).set_index(["attribute", "pair"])["kappa"]
    assert result[("religion", 0)] == pytest.approx(1.0) and result[("religion", 1)] == pytest.approx(-1.0)
    assert result[("income", 0)] == pytest.approx(cohen_kappa_score(*plan[("income", 0)]))
    assert loo_kappas(pd.DataFrame(rows)).equals(loo_kappas(shuffled))
