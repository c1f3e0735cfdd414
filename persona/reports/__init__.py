"""Markdown report pieces shared by every kind of run."""

from persona.reports.estimates import (
    SMALL_SAMPLE,
    SMALL_SAMPLE_NOTE,
    estimates_table,
    format_estimate,
    small_sample_note,
)
from persona.reports.slices import slices_table

__all__ = [
    "SMALL_SAMPLE",
    "SMALL_SAMPLE_NOTE",
    "estimates_table",
    "format_estimate",
    "markdown",
    "slices_table",
    "small_sample_note",
]
