"""Agreement between annotators (human or model): pairwise Cohen's kappa over the items both annotated."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

MIN_SHARED = 2


def kappa(first: pd.Series, second: pd.Series) -> float:
    """Cohen's kappa of two annotators on the items both labelled (Series indexed by item); NaN where undefined.

    Undefined: fewer than two shared items, or chance agreement of 1 (both gave one and the same label throughout).
    """
    from sklearn.metrics import cohen_kappa_score  # loaded when agreement is computed: it costs startup

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


def majority_labels(annotations: pd.DataFrame, threshold: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The label at least ``threshold`` annotators gave each (persona_id, item_id), and the items left without one.

    Rows are ``persona_id``, ``item_id``, ``choice``. Returns ``(labels, unresolved)``: labels has ``choice``,
    ``votes_a``, ``votes_b``, ``annotators``; unresolved has the votes and a ``reason``: ``tie`` when both labels
    got the same count, else ``below threshold``. A tie is never broken: it is reported.
    """
    if threshold < 1:
        raise ValueError(f"a majority needs at least one vote, got threshold {threshold}")
    columns = ["persona_id", "item_id", "votes_a", "votes_b", "annotators"]
    votes = (
        annotations.assign(a=annotations["choice"] == "A", b=annotations["choice"] == "B")
        .groupby(["persona_id", "item_id"], sort=True)
        .agg(votes_a=("a", "sum"), votes_b=("b", "sum"), annotators=("choice", "size"))
        .reset_index()
    )
    if votes.empty:
        return pd.DataFrame(columns=["choice", *columns]), pd.DataFrame(columns=[*columns, "reason"])
    winner = np.where(votes["votes_a"] > votes["votes_b"], "A", "B")
    top = votes[["votes_a", "votes_b"]].max(axis=1)
    decided = (votes["votes_a"] != votes["votes_b"]) & (top >= threshold)
    labels = votes[decided].assign(choice=winner[decided.to_numpy()])[["choice", *columns]]
    unresolved = votes[~decided].assign(
        reason=np.where(votes["votes_a"][~decided] == votes["votes_b"][~decided], "tie", "below threshold")
    )
    return labels.reset_index(drop=True), unresolved[[*columns, "reason"]].reset_index(drop=True)


def preference_diversity(choices: pd.DataFrame, min_split: float, label: str) -> dict:
    """How much a population disagrees, from rows of ``persona``, ``item``, ``choice`` (one per persona and item):

    - ``shares``: per item, the share of personas choosing ``label``;
    - ``split_share``: the share of items whose minority answer has at least ``min_split`` of the personas (at 0.3,
      a 30/70 split or closer);
    - ``mean_agreement``: over every pair of personas, the share of their common items they answered alike
      (1.0: a population of one mind).
    """
    missing = {"persona", "item", "choice"} - set(choices.columns)
    if missing:
        raise ValueError(f"choices need columns persona, item, choice; missing {sorted(missing)}")
    table = choices.pivot(index="persona", columns="item", values="choice")
    shares = {
        str(item): float((column.dropna() == label).mean()) for item, column in table.items() if column.notna().any()
    }
    split = [min(share, 1 - share) >= min_split for share in shares.values()]
    agreements = []
    rows = table.to_numpy(dtype=object)
    for i in range(len(rows)):
        for j in range(i + 1, len(rows)):
            both = pd.notna(rows[i]) & pd.notna(rows[j])
            if both.any():
                agreements.append(float(np.mean(rows[i][both] == rows[j][both])))
    return {
        "shares": shares,
        "split_share": float(np.mean(split)) if split else math.nan,
        "mean_agreement": float(np.mean(agreements)) if agreements else math.nan,
    }
