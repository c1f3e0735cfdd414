"""Joint census fidelity: a population that matches every marginal but breaks an association must show it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from persona.metrics.fidelity import compare
from persona.metrics.joint import cramers_v, joint_compare, joint_fidelity


def _population(cells: dict[tuple[str, str], int]) -> pd.DataFrame:
    rows = [{"sex": sex, "employment": job} for (sex, job), count in cells.items() for _ in range(count)]
    return pd.DataFrame(rows)


SOURCE = _population(
    {("Male", "Employed"): 400, ("Male", "Not"): 100, ("Female", "Employed"): 100, ("Female", "Not"): 400}
)


def test_reversed_association_with_matching_marginals_is_flagged():
    reversed_ = _population(
        {("Male", "Employed"): 50, ("Male", "Not"): 200, ("Female", "Employed"): 200, ("Female", "Not"): 50}
    )
    for attribute in ("sex", "employment"):
        assert compare(attribute, SOURCE[attribute], None, reversed_[attribute]).tvd == pytest.approx(0.0)
    result = joint_compare("sex", "employment", SOURCE, None, reversed_)
    assert result.tvd == pytest.approx(0.6)  # 0.5 * (0.3 + 0.3 + 0.3 + 0.3)
    assert result.null_tvd < 0.15 and result.flagged and result.excess > 0.4
    # Cramér's V is unsigned: the same strength, the other way round; the joint distance is what catches it.
    assert result.cramers_v_source == pytest.approx(0.6) and result.cramers_v_personas == pytest.approx(0.6)


def test_a_population_drawn_from_the_source_is_not_flagged_and_independence_has_v_zero():
    rng = np.random.default_rng(0)
    drawn = SOURCE.iloc[rng.choice(len(SOURCE), size=250, replace=True)].reset_index(drop=True)
    result = joint_compare("sex", "employment", SOURCE, None, drawn)
    assert not result.flagged and result.tvd < result.null_tvd
    independent = pd.DataFrame([[0.25, 0.25], [0.25, 0.25]])
    assert cramers_v(independent) == pytest.approx(0.0)


def test_weights_count_and_pairs_come_worst_first():
    source = pd.concat([SOURCE, _population({("Male", "Not"): 10})], ignore_index=True)
    weights = np.r_[np.ones(len(SOURCE)), np.full(10, 30.0)]  # 10 rows standing for 300 people
    result = joint_compare("sex", "employment", source, weights, SOURCE)
    male_not = result.table.loc[("Male", "Not"), "source"]
    assert male_not == pytest.approx(400 / 1300)
    source["age"] = 30
    personas = SOURCE.assign(age=30)
    pairs = joint_fidelity(source, weights, personas, ["sex", "employment", "age"])
    assert (pairs[0].first, pairs[0].second) == ("sex", "employment") and len(pairs) == 3
    assert [p.excess for p in pairs] == sorted((p.excess for p in pairs), reverse=True)
