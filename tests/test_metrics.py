"""Pass rate and its bootstrap interval, against hand-computed values."""

import math

import numpy as np

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
