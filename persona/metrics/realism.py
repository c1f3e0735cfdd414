"""How well answers predicted for real survey respondents match what they answered: pure functions over records.

Two questions, kept apart. *Individual*: is the answer predicted for this respondent the one they gave (accuracy;
for ordered scales, how many steps off)? *Distributional*: within a demographic group, does the spread of predicted
answers match the real spread (total variation; for ordered scales the 1-Wasserstein distance over the scale,
normalised, whose complement is OpinionQA's representativeness)? A respondent's answers to several items are not
independent, so every interval resamples respondents, and two predictors are compared on the same resamples.

Records are rows with ``respondent``, ``weight``, ``item``, ``predictor``, ``real`` (an option code) and ``choice``
(the predicted code; None where the prediction failed), optionally ``probs`` (probabilities over the item's scale).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from persona.metrics.accuracy import Estimate

MISSING = "(missing)"


class Resamples:
    """One bootstrap over respondents, shared by every estimate made from it, so differences are paired."""

    def __init__(
        self, respondents: Sequence[str], resamples: int = 1000, seed: int = 0, confidence: float = 0.95
    ) -> None:
        self.order = sorted(set(respondents))
        self.position = {respondent: i for i, respondent in enumerate(self.order)}
        self.confidence = confidence
        size = len(self.order)
        draws = np.random.default_rng(seed).integers(0, size, size=(resamples, size))
        self.counts = np.zeros((resamples, size))
        np.add.at(self.counts, (np.arange(resamples)[:, None], draws), 1.0)

    def index(self, respondents: Sequence[str]) -> np.ndarray:
        """Each respondent's place in this bootstrap's order."""
        return np.fromiter((self.position[r] for r in respondents), dtype=np.int64, count=len(respondents))

    def totals(self, respondents: Sequence[str], values: Sequence[float] | np.ndarray) -> np.ndarray:
        """``values`` summed per respondent, in this bootstrap's order."""
        return np.bincount(self.index(respondents), weights=np.asarray(values, dtype=float), minlength=len(self.order))

    def interval(self, draws: np.ndarray) -> tuple[float, float]:
        kept = draws[~np.isnan(draws)]
        if kept.size == 0:
            return math.nan, math.nan
        tail = (1 - self.confidence) / 2 * 100
        low, high = np.percentile(kept, [tail, 100 - tail])
        return float(low), float(high)

    def ratio(self, numerator: np.ndarray, denominator: np.ndarray, n: int) -> tuple[Estimate, np.ndarray]:
        """Σ numerator / Σ denominator (per-respondent totals), with its CI and every resample's value."""
        if denominator.sum() <= 0:
            return Estimate(math.nan, math.nan, math.nan, 0), np.full(len(self.counts), math.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            draws = (self.counts @ numerator) / (self.counts @ denominator)
        return Estimate(float(numerator.sum() / denominator.sum()), *self.interval(draws), n), draws

    def centred(self, point: float, draws: np.ndarray) -> tuple[float, float]:
        """The resamples' spread around their median, placed around the estimate: for a distance between two sets
        of shares, which resampling inflates (duplicated respondents add noise to either side), so the raw
        percentiles sit beside the estimate instead of around it. Says how much the estimate moves, not its bias."""
        low, high = self.interval(draws)
        middle = float(np.nanmedian(draws)) if np.isfinite(draws).any() else math.nan
        return point - (middle - low), point + (high - middle)

    def difference(
        self, a: tuple[Estimate, np.ndarray], b: tuple[Estimate, np.ndarray], centred: bool = False
    ) -> Estimate:
        """``a`` minus ``b`` on the same resamples (``centred``: the spread placed around it, for distances)."""
        (first, first_draws), (second, second_draws) = a, b
        value, draws = first.value - second.value, first_draws - second_draws
        bounds = self.centred(value, draws) if centred else self.interval(draws)
        return Estimate(value, *bounds, min(first.n, second.n))


def positions(codes: pd.Series, scales: Mapping[str, Sequence[str]], items: pd.Series) -> np.ndarray:
    """Each code's place on its item's scale (NaN where the code is missing)."""
    lookup = {(item, code): float(i) for item, scale in scales.items() for i, code in enumerate(scale)}
    return np.array([lookup.get((i, c), math.nan) for i, c in zip(items, codes, strict=True)])


def individual(
    records: pd.DataFrame, scales: Mapping[str, Sequence[str]], ordered: Mapping[str, bool], boot: Resamples
) -> dict[str, dict[str, tuple[Estimate, np.ndarray]]]:
    """Per predictor: ``accuracy`` (share of answers predicted exactly) and, over ordered items, ``ordinal_error``
    (mean steps between the predicted and the real answer). Failed predictions are left out, and counted apart."""
    out: dict[str, dict[str, tuple[Estimate, np.ndarray]]] = {}
    for predictor, rows in records.groupby("predictor", sort=False):
        done = rows[rows["choice"].notna()]
        weight = done["weight"].to_numpy(dtype=float)
        correct = (done["choice"] == done["real"]).to_numpy(dtype=float)
        respondents = done["respondent"].tolist()
        scores = {
            "accuracy": boot.ratio(
                boot.totals(respondents, weight * correct), boot.totals(respondents, weight), len(done)
            )
        }
        scaled = done[done["item"].map(ordered).fillna(False).astype(bool)]
        if len(scaled):
            steps = np.abs(
                positions(scaled["choice"], scales, scaled["item"]) - positions(scaled["real"], scales, scaled["item"])
            )
            w = scaled["weight"].to_numpy(dtype=float)
            who = scaled["respondent"].tolist()
            scores["ordinal_error"] = boot.ratio(boot.totals(who, w * steps), boot.totals(who, w), len(scaled))
        out[str(predictor)] = scores
    return out


def banded(demographics: pd.DataFrame, numeric: Sequence[str], bands: int = 4) -> pd.DataFrame:
    """Demographic labels fit for grouping: numbers in ``bands`` quantile bands (age in the usual life stages),
    missing values as their own group."""
    out = pd.DataFrame(index=demographics.index)
    for name in demographics:
        values = demographics[name]
        if name in numeric:
            number = pd.to_numeric(values, errors="coerce")
            if name == "age":
                cuts = [-np.inf, 29, 44, 64, np.inf]
                labels = ["18-29", "30-44", "45-64", "65+"]
                group = pd.cut(number, cuts, labels=labels).astype(object)
            else:
                known = number.dropna().to_numpy(dtype=float)
                edges = np.unique(np.quantile(known, np.linspace(0, 1, bands + 1))) if known.size else np.array([])
                if len(edges) < 2:
                    group = number.map(lambda v: None if pd.isna(v) else f"{v:g}")
                else:
                    index = np.clip(np.searchsorted(edges, number, side="right") - 1, 0, len(edges) - 2)
                    labels = [f"{edges[i]:g}-{edges[i + 1]:g}" for i in range(len(edges) - 1)]
                    group = pd.Series([labels[i] for i in index], index=number.index).where(number.notna(), None)
            out[name] = group.where(group.notna(), MISSING)
        else:
            out[name] = values.where(values.notna(), MISSING)
    return out


class GroupDistance(BaseModel):
    """One predictor's distributional fit in one demographic group, averaged over the items."""

    predictor: str
    attribute: str
    group: str
    respondents: int
    tv: float = Field(description="mean total variation distance, predicted vs real answer shares (0 best, 1 worst)")
    representativeness: float | None = Field(
        description="1 - mean normalised 1-Wasserstein distance over ordered items (1 best); None without them"
    )
    ranked: bool


def _mass(rows: pd.DataFrame, column: str, scale: Sequence[str], use_probs: bool) -> np.ndarray:
    """Each row's weighted answer mass over the item's options (rows x K): its probabilities when given (and
    ``use_probs``), else all of it on the option chosen."""
    mass = np.zeros((len(rows), len(scale)))
    if use_probs and "probs" in rows and rows["probs"].notna().all():
        mass[:] = np.stack([np.asarray(p, dtype=float) for p in rows["probs"]])
    else:
        index = rows[column].map({code: i for i, code in enumerate(scale)})
        known = index.notna().to_numpy()
        mass[np.flatnonzero(known), index[known].astype(int).to_numpy()] = 1.0
    return mass * rows["weight"].to_numpy(dtype=float)[:, None]


def _group_shares(
    mass: np.ndarray, places: np.ndarray, member: np.ndarray, n_labels: int, boot: Resamples
) -> tuple[np.ndarray, np.ndarray]:
    """Answer shares per group: once as observed (labels x K) and once per resample (resamples x labels x K).
    ``member`` says, per record and label, whether the record's respondent is in the group; one sparse product
    per item does every group at once."""
    from scipy.sparse import csr_matrix

    k = mass.shape[1]
    rows, labels = np.nonzero(member)
    columns = (labels[:, None] * k + np.arange(k)).ravel()
    values = mass[rows].ravel()
    matrix = csr_matrix(
        (values, (np.repeat(places[rows], k), columns)), shape=(len(boot.order), n_labels * k)
    )  # respondent x (label, option): the mass their records carry into each group
    observed = np.asarray(matrix.sum(axis=0)).reshape(n_labels, k)
    resampled = np.asarray((matrix.T @ boot.counts.T).T).reshape(len(boot.counts), n_labels, k)
    with np.errstate(invalid="ignore", divide="ignore"):
        return observed / observed.sum(axis=1, keepdims=True), resampled / resampled.sum(axis=2, keepdims=True)


def distributional(
    records: pd.DataFrame,
    groups: pd.DataFrame,
    scales: Mapping[str, Sequence[str]],
    ordered: Mapping[str, bool],
    boot: Resamples,
    min_group_size: int = 10,
) -> tuple[list[GroupDistance], dict[str, tuple[Estimate, np.ndarray]]]:
    """Per predictor and demographic group, how far the predicted answer shares are from the real ones (averaged
    over items), and per predictor the overlap (1 - TV) averaged over ranked groups (at least ``min_group_size``
    respondents) with its respondent-resampled CI. ``groups`` holds each respondent's group per attribute
    (``banded``), indexed by respondent."""
    table: list[GroupDistance] = []
    overall: dict[str, tuple[Estimate, np.ndarray]] = {}
    labels = [(a, g) for a in groups for g in sorted(groups[a].unique()) if g != MISSING]
    sizes = {(a, g): int((groups[a] == g).sum()) for a, g in labels}
    ranked = np.array([sizes[label] >= min_group_size for label in labels], dtype=bool)
    truth: dict[tuple[str, bytes], tuple[np.ndarray, np.ndarray]] = {}  # real shares, observed and resampled
    for predictor, rows in records.groupby("predictor", sort=False):
        done = rows[rows["choice"].notna()]
        tv_sum, w1_sum = np.zeros(len(labels)), np.zeros(len(labels))
        seen, seen_ordered = np.zeros(len(labels)), np.zeros(len(labels))
        tv_draws = np.zeros((len(boot.counts), len(labels)))
        for item, part in done.groupby("item", sort=False):
            scale = scales[str(item)]
            places = boot.index(part["respondent"].tolist())
            member_frame = groups.loc[part["respondent"]]
            member = np.stack([(member_frame[a] == g).to_numpy() for a, g in labels], axis=1)
            present = member.any(axis=0)
            key = (str(item), places.tobytes())  # the real shares of the same respondents serve every predictor
            if key not in truth:
                truth[key] = _group_shares(_mass(part, "real", scale, False), places, member, len(labels), boot)
            real = truth[key]
            pred = _group_shares(_mass(part, "choice", scale, True), places, member, len(labels), boot)
            tv = 0.5 * np.abs(real[0] - pred[0]).sum(axis=1)
            tv_sum[present] += tv[present]
            seen[present] += 1
            tv_draws[:, present] += 0.5 * np.abs(real[1] - pred[1]).sum(axis=2)[:, present]
            if ordered.get(str(item)):
                w1 = np.abs(np.cumsum(real[0] - pred[0], axis=1))[:, :-1].sum(axis=1) / (len(scale) - 1)
                w1_sum[present] += w1[present]
                seen_ordered[present] += 1
        for j, (attribute, group) in enumerate(labels):
            if seen[j]:
                table.append(
                    GroupDistance(
                        predictor=str(predictor),
                        attribute=attribute,
                        group=group,
                        respondents=sizes[(attribute, group)],
                        tv=float(tv_sum[j] / seen[j]),
                        representativeness=1 - float(w1_sum[j] / seen_ordered[j]) if seen_ordered[j] else None,
                        ranked=bool(ranked[j]),
                    )
                )
        scored = ranked & (seen > 0)
        if not scored.any():
            overall[str(predictor)] = (Estimate(math.nan, math.nan, math.nan, 0), np.full(len(boot.counts), math.nan))
            continue
        point = 1 - float(np.mean(tv_sum[scored] / seen[scored]))
        with np.errstate(invalid="ignore"):
            draws = 1 - np.nanmean(tv_draws[:, scored] / seen[scored], axis=1)
        low, high = boot.centred(point, draws)
        overall[str(predictor)] = (Estimate(point, max(low, 0.0), min(high, 1.0), int(scored.sum())), draws)
    return table, overall


class CellCeiling(BaseModel):
    """What demographics alone can tell, measured on the real answers themselves."""

    agreement: float | None = Field(description="how often two respondents of one cell give the same answer")
    mode_accuracy: float | None = Field(
        description="accuracy of answering each respondent with the most common answer of the rest of their cell"
    )
    respondents: int = Field(description="respondents who share their cell with another (the only ones counted)")


def cell_ceiling(cells: Sequence[str], answers: pd.DataFrame) -> CellCeiling:
    """Within demographic cells, averaged over items: how often two respondents agree (what a predictor drawing
    answers from the right cell's spread scores), and how often the rest of a respondent's cell's most common
    answer is theirs (what the best lookup on these demographics scores; ties go to the first answer in order).
    Only respondents who share their cell count."""
    cell = pd.Series(list(cells), index=answers.index)
    agreement, modes = [], []
    for item in answers:
        frame = pd.DataFrame({"cell": cell, "answer": answers[item]}).dropna()
        table = pd.crosstab(frame["cell"], frame["answer"])
        sizes = table.sum(axis=1)
        table, sizes = table[sizes > 1], sizes[sizes > 1]
        if table.empty:
            continue
        counts = table.to_numpy()
        agreement.append(float((counts * (counts - 1)).sum() / (sizes * (sizes - 1)).sum()))
        right = 0
        for k in range(counts.shape[1]):  # each respondent answering k, judged by the rest of their cell
            rest = counts.copy()
            rest[:, k] -= 1
            right += int(counts[rest.argmax(axis=1) == k, k].sum())
        modes.append(right / float(sizes.sum()))
    shared = int((cell.map(cell.value_counts()) > 1).sum())
    return CellCeiling(
        agreement=float(np.mean(agreement)) if agreement else None,
        mode_accuracy=float(np.mean(modes)) if modes else None,
        respondents=shared,
    )
