"""What a survey answer can be predicted from without any language model: the bars role-play has to clear.

``majority`` says the most common answer of the fit respondents, ``uniform`` picks an option at random (seeded),
and ``demographic`` is a multinomial logistic regression per item on the card's demographics (one-hot labels,
numbers standardised, a missing value its own indicator), fitted on the fit respondents only. Each is fitted on
one set of respondents and predicts another, which never overlap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from persona.data.surveys import Survey

BASELINES = ("majority", "uniform", "demographic")


@dataclass
class Predicted:
    """One predictor's answers for some respondents on one item: a code each (None where the respondent did not
    answer the item) and, where the predictor has them, probabilities over the item's scale."""

    choices: list[str | None]
    probs: list[list[float]] | None


def _features(survey: Survey, fit: np.ndarray) -> np.ndarray:
    """Every respondent's demographic design row, the encoders fitted on the ``fit`` rows only."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [name for name in survey.demographics if name in survey.numeric]
    labelled = [name for name in survey.demographics if name not in survey.numeric]
    frame = survey.demographics[labelled].fillna("(missing)").astype(str)
    for name in numeric:
        frame[name] = survey.numeric[name].to_numpy(dtype=float)
    steps = [("labels", OneHotEncoder(handle_unknown="ignore"), labelled)]
    if numeric:
        steps.append(("numbers", make_pipeline(SimpleImputer(add_indicator=True), StandardScaler()), numeric))
    encoder = ColumnTransformer(steps, sparse_threshold=0)
    encoder.fit(frame.iloc[fit])
    return np.asarray(encoder.transform(frame), dtype=np.float32)  # half the memory traffic of each fit


def predict_baselines(
    survey: Survey, items: Sequence[str], fit: np.ndarray, predict: np.ndarray, seed: int, names: Sequence[str]
) -> dict[str, dict[str, Predicted]]:
    """Each baseline in ``names`` fitted on respondents ``fit`` (row positions) and predicting ``predict``."""
    from sklearn.linear_model import LogisticRegression

    weights = survey.weights
    design = _features(survey, fit) if "demographic" in names else None
    out: dict[str, dict[str, Predicted]] = {name: {} for name in names}
    for number, column in enumerate(items):
        scale = survey.card.item(column).scale()
        answers = survey.answers[column].to_numpy(dtype=object)
        train = fit[pd.notna(answers[fit])]
        asked = pd.notna(answers[predict])
        if len(train) == 0:
            raise ValueError(f"item {column}: none of the fit respondents answered it")
        totals = pd.Series(weights[train]).groupby(answers[train]).sum().reindex(scale, fill_value=0.0)
        if "majority" in names:
            mode = str(totals.idxmax())  # the first of tied options, in the card's order
            out["majority"][column] = Predicted([mode if a else None for a in asked], None)
        if "uniform" in names:
            # one draw per respondent of the survey, so a respondent's draw does not depend on who else is predicted
            draws = np.random.default_rng([seed, 27, number]).integers(0, len(scale), size=len(survey))
            out["uniform"][column] = Predicted(
                [scale[draws[row]] if a else None for row, a in zip(predict, asked, strict=True)],
                [[1 / len(scale)] * len(scale)] * len(predict),
            )
        if "demographic" in names and design is not None:
            probs = np.zeros((len(predict), len(scale)))
            seen = [code for code in scale if totals[code] > 0]
            if len(seen) == 1:
                probs[:, scale.index(seen[0])] = 1.0
            else:
                # tol 1e-3 (sklearn's default is 1e-4) halves the fits; shares move in the third decimal
                model = LogisticRegression(max_iter=500, tol=1e-3)
                model.fit(design[train], answers[train].astype(str), sample_weight=weights[train])
                predicted = model.predict_proba(design[predict])
                for j, code in enumerate(model.classes_):
                    probs[:, scale.index(str(code))] = predicted[:, j]
            best = probs.argmax(axis=1)
            out["demographic"][column] = Predicted(
                [scale[b] if a else None for b, a in zip(best, asked, strict=True)], probs.round(6).tolist()
            )
    return out


def folds(n: int, k: int, seed: int) -> list[np.ndarray]:
    """``k`` disjoint, seeded folds of ``n`` row positions, for cross-fitting when every respondent is evaluated."""
    order = np.random.default_rng([seed, 28]).permutation(n)
    return [np.sort(part) for part in np.array_split(order, k)]
