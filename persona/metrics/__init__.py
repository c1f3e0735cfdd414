"""Pure metric functions over records: no LM calls, no I/O."""

from persona.metrics.accuracy import Estimate, pass_rate

__all__ = ["Estimate", "pass_rate"]
