"""What the terminal shows when a run ends, per kind: its headline metrics, read from the typed manifest."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.table import Table

from persona.cli.base import console, print_estimates


def _quickstart(result: Any) -> None:
    rate = result.manifest.metrics.bench_pass_rate
    shown = "n/a" if rate.value is None else f"{rate.value:.3f} [{rate.low:.3f}, {rate.high:.3f}]"
    console.print(f"[bold]{result.manifest.spec['name']}[/]: bench pass rate {shown} over {rate.n} answers")


def _personas(result: Any) -> None:
    m = result.manifest.metrics
    pruning = "" if m.pruning_rate is None else f"; pruned {m.pruning_rate:.1%} of {m.profiles_checked} drawn"
    console.print(
        f"{m.personas} personas{pruning}; mean census TVD {m.fidelity_mean_tvd} (personas.jsonl, fidelity.md)"
    )


def _curation(result: Any) -> None:
    m = result.manifest.metrics
    steps = ", ".join(f"{step} {n}" for step, n in m.counts.items())
    console.print(f"{steps}; {m.train} train, {m.heldout} held out (prompts.jsonl, dropped.jsonl, curation.md)")


def _pairs(result: Any) -> None:
    m = result.manifest.metrics
    counts = ", ".join(f"{n} {split}" for split, n in m.pairs.items())
    console.print(f"pairs: {counts}; {m.pairs_failed} failed (pairs.jsonl, verification.jsonl)")
    print_estimates("DPF pairs", {"chosen shorter": m.shorter, "annotator agrees with chosen": m.agreement_with_chosen})


def _bench(result: Any) -> None:
    print_estimates("accuracy per mode", {mode: row.accuracy for mode, row in result.manifest.metrics.modes.items()})


def _passk(result: Any) -> None:
    curve = result.manifest.metrics.curve
    console.print("pass@k: " + ", ".join(f"k={k} {v:.3f}" for k, v in curve.items() if v is not None))


def _loo(result: Any) -> None:
    table = Table(title="kappa per pair, without vs with the attribute")
    for column in ("attribute", "pairs", "defined", "median", "mean"):
        table.add_column(column)
    for name, row in result.manifest.metrics.attributes.items():
        shown = ["n/a" if v is None else f"{v:.3f}" for v in (row.median, row.mean)]
        table.add_row(name, str(row.pairs), str(row.defined), *shown)
    console.print(table)


def _annotate(result: Any) -> None:
    m = result.manifest.metrics
    console.print(f"{m.annotated} of {m.tasks} tasks annotated: [cyan]{result.run_dir / 'annotations.jsonl'}[/]")


def _optimize(result: Any) -> None:
    for split, row in result.manifest.metrics.sets.items():
        print_estimates(f"{split}: accuracy", {"baseline": row.baseline, "optimized": row.optimized})
        console.print(f"paired (McNemar exact) p = {row.paired.p_value:.3f}")


SUMMARIES: dict[str, Callable[[Any], None]] = {
    "quickstart": _quickstart,
    "personas": _personas,
    "curation": _curation,
    "pairs": _pairs,
    "bench": _bench,
    "passk": _passk,
    "loo": _loo,
    "annotate": _annotate,
    "optimize": _optimize,
}
