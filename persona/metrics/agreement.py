"""Agreement between annotators (human or model): pairwise Cohen's kappa over the items both annotated."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score

MIN_SHARED = 2


def kappa(first: pd.Series, second: pd.Series) -> float:
    """Cohen's kappa of two annotators on the items both labelled (Series indexed by item); NaN where undefined.

    Undefined: fewer than two shared items, or chance agreement of 1 (both gave one and the same label throughout).
    """
    shared = first.index.intersection(second.index)
    if len(shared) < MIN_SHARED:
        return math.nan
    a, b = first.loc[shared].astype(str), second.loc[shared].astype(str)
    if a.nunique() == 1 and b.nunique() == 1 and a.iloc[0] == b.iloc[0]:
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value = float(cohen_kappa_score(a, b))
    return value if np.isfinite(value) else math.nan


def kappa_matrix(annotations: pd.DataFrame) -> pd.DataFrame:
    """Annotator x annotator kappa from rows of ``annotator``, ``item``, ``choice`` (one choice per pair).

    ``item`` is whatever identifies a judged question (e.g. persona id + item id). Symmetric; the diagonal is each
    annotator against itself (1, or NaN when it is undefined).
    """
    missing = {"annotator", "item", "choice"} - set(annotations.columns)
    if missing:
        raise ValueError(f"annotations need columns annotator, item, choice; missing {sorted(missing)}")
    duplicated = annotations.duplicated(["annotator", "item"])
    if duplicated.any():
        row = annotations[duplicated].iloc[0]
        raise ValueError(f"annotator '{row['annotator']}' labelled item {row['item']} more than once")
    by_annotator = {
        name: group.set_index("item")["choice"] for name, group in annotations.groupby("annotator", sort=True)
    }
    names = list(by_annotator)
    matrix = pd.DataFrame(np.nan, index=names, columns=names)
    for i, a in enumerate(names):
        for b in names[i:]:
            matrix.loc[a, b] = matrix.loc[b, a] = kappa(by_annotator[a], by_annotator[b])
    return matrix
