"""Pure metric functions over records: no LM calls, no I/O."""

from persona.metrics.accuracy import Estimate, EstimateRecord, pass_rate
from persona.metrics.agreement import kappa, kappa_matrix, majority_labels
from persona.metrics.fidelity import Fidelity, compare
from persona.metrics.loo import loo_kappas
from persona.metrics.passk import pass_at_k, pass_at_k_curve

__all__ = [
    "Estimate",
    "EstimateRecord",
    "Fidelity",
    "compare",
    "kappa",
    "kappa_matrix",
    "loo_kappas",
    "majority_labels",
    "pass_at_k",
    "pass_at_k_curve",
    "pass_rate",
]
