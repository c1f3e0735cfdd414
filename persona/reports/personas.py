"""Report text about the personas a run used."""

from __future__ import annotations

from persona.data.persona import NullAttributes


def null_line(summary: NullAttributes) -> str:
    """The report sentence on persona completeness."""
    if not summary.personas:
        return "No personas were built."
    return (
        f"{summary.personas} personas of {summary.attributes} attributes each; null per persona: mean "
        f"{summary.mean} (min {summary.min}, max {summary.max})."
    )
