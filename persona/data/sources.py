"""Census sources by name: the embedded ACS 2012 sample, or PUMS files on disk."""

from __future__ import annotations

from pathlib import Path

from persona.data.census import CensusSample, acs12_sample
from persona.data.pums import read_pums, resolve_source
from persona.errors import InputError


class SourceError(InputError):
    """A source name that names no usable census sample."""


def load_source(source: str, dictionary: str | None = None) -> CensusSample:
    """``acs12`` or ``pums:PATH`` (a PUMS csv/zip, or a folder of them); PUMS problems name the file."""
    if source == "acs12":
        return acs12_sample()
    if source.startswith("pums:") and source[5:]:
        return read_pums(*resolve_source(Path(source[5:])), dictionary=Path(dictionary) if dictionary else None)
    raise SourceError(f"unknown persona source {source!r}: use 'acs12' or 'pums:PATH' (a PUMS csv/zip or a folder)")
