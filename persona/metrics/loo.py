"""Leave-one-out attribute influence: how much adding one attribute changes a persona's preferences."""

from __future__ import annotations

import pandas as pd

from persona.metrics.agreement import kappa

VARIANTS = ("without", "with")


def loo_kappas(records: pd.DataFrame) -> pd.DataFrame:
    """Kappa between each persona pair's choices without and with the attribute, labelled by the attribute.

    ``records`` has one row per judged question: ``attribute`` (the one left out), ``pair`` (which persona pair),
    ``variant`` ("without" / "with"), ``item`` and ``choice``. Pairs are matched by their own labels, never by
    row position, so shuffled input gives the same result. Low kappa = the attribute changed the choices a lot.
    """
    missing = {"attribute", "pair", "variant", "item", "choice"} - set(records.columns)
    if missing:
        raise ValueError(f"LOO records need attribute, pair, variant, item, choice; missing {sorted(missing)}")
    unknown = set(records["variant"]) - set(VARIANTS)
    if unknown:
        raise ValueError(f"variant must be 'without' or 'with', got {sorted(unknown)}")
    rows = []
    for (attribute, pair), group in records.groupby(["attribute", "pair"], sort=True):
        sides = {v: g.set_index("item")["choice"] for v, g in group.groupby("variant")}
        value = kappa(sides["without"], sides["with"]) if len(sides) == 2 else float("nan")
        rows.append({"attribute": attribute, "pair": pair, "kappa": value})
    return pd.DataFrame(rows, columns=["attribute", "pair", "kappa"])
