"""Data: census sources, procedural attributes, the persona schema, prompt sets, and file I/O."""

from persona.data.census import ACS12_CENSUS_BACKED, decode_acs12, load_acs12
from persona.data.io import atomic_write_text, read_jsonl, write_jsonl
from persona.data.persona import ATTRIBUTES, Persona
from persona.data.prompts import Prompt, load_embedded_prompts

__all__ = [
    "ACS12_CENSUS_BACKED",
    "ATTRIBUTES",
    "Persona",
    "Prompt",
    "atomic_write_text",
    "decode_acs12",
    "load_acs12",
    "load_embedded_prompts",
    "read_jsonl",
    "write_jsonl",
]
