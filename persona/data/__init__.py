"""Data: census sources, procedural attributes, the persona schema, prompt sets, and file I/O."""

from persona.data.census import ACS12_CENSUS_BACKED, CensusSample, acs12_sample, decode_acs12, load_acs12
from persona.data.io import atomic_write_text, read_jsonl, write_jsonl
from persona.data.persona import ATTRIBUTES, Persona, read_personas
from persona.data.prompts import Prompt, load_embedded_prompts
from persona.data.pums import PUMS_FIELDS, PumsError, read_pums, resolve_source

__all__ = [
    "ACS12_CENSUS_BACKED",
    "ATTRIBUTES",
    "PUMS_FIELDS",
    "CensusSample",
    "Persona",
    "Prompt",
    "PumsError",
    "acs12_sample",
    "atomic_write_text",
    "decode_acs12",
    "load_acs12",
    "load_embedded_prompts",
    "read_jsonl",
    "read_personas",
    "read_pums",
    "resolve_source",
    "write_jsonl",
]
