"""Kinds of run: one ``Kind`` object per experiment, registered once, and read by everything that needs it.

The engine (``load_spec``, ``run_spec``, the manifest's typed metrics, shard workers), ``persona run``, ``persona
spec``, ``bench report``, the public API and the every-kind tests all look a kind up here and nowhere else. The
engine never imports an experiment: a kind is found by name through the ``persona_testbed.kinds`` entry point
group (this package declares its built-in kinds there, a user's package declares its own the same way), or by
import path (``kind = "mypkg.module:MY_KIND"`` in a spec file), with no edit to this package.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from persona.errors import InputError
from persona.plugins import PluginError, identity, is_import_path, load_object

GROUP = "persona_testbed.kinds"
BUILT_IN = "persona."  # modules of this package: their identity is the package version in the manifest


def _no_inputs(spec: Any) -> None:
    return None


def _no_summary(result: Any) -> list[Any]:
    return []


@dataclass(frozen=True)
class Kind:
    """Everything about one kind of run that is not its engine.

    Args:
        name: what a spec's ``kind`` key says (an entry point's name; an import path names a kind too).
        spec: its spec model (a pydantic model with ``kind``, ``seed``, ``run``, ``out`` and ``fingerprint()``).
        metrics: its typed run-level metrics, as the manifest holds them.
        run: ``run(session, spec, inputs)``: the experiment in an open ``Session`` (its stages, result files and
            ``session.finish``); returns a result with ``run_dir`` and ``manifest``. ``persona.run_kind`` runs it.
        prepare: ``prepare(spec)``: what the run reads, read before any run dir exists, so bad input writes nothing.
        models: ``models(spec, inputs)``: the model of each role the session builds (default: all the spec has).
        summary: what the terminal shows when a run ends: rich renderables (markup strings or tables) from the result.
        report: ``report.md`` again from a finished run's manifest alone (``bench report``); None: not re-rendered.
        plots: the figures again from a manifest, into a folder; returns the file names written.
        subject: the model role whose model names a run when runs are compared (the model under test).
        placeholders: values for the spec's required fields when ``persona spec`` writes its defaults.
        exports: further public names (``persona.<name>``) besides the spec and the metrics, such as the function
            that runs it from Python.
    """

    name: str
    spec: type[BaseModel]
    metrics: type[BaseModel]
    run: Callable[[Any, Any, Any], Any]
    prepare: Callable[[Any], Any] = _no_inputs
    models: Callable[[Any, Any], Mapping[str, Any]] | None = None
    summary: Callable[[Any], Sequence[Any]] = _no_summary
    report: Callable[[Any], str] | None = None
    plots: Callable[[Any, Path], list[str]] | None = None
    subject: str | None = None
    placeholders: dict[str, Any] = field(default_factory=dict)
    exports: dict[str, Any] = field(default_factory=dict)

    @property
    def public(self) -> dict[str, Any]:
        """The names ``import persona`` offers for this kind."""
        return {self.spec.__name__: self.spec, self.metrics.__name__: self.metrics, **self.exports}


class UnknownKindError(InputError):
    """A spec names a kind that no entry point or import path provides."""


_loaded: dict[str, Kind] = {}


def _entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    points = importlib.metadata.entry_points(group=GROUP)
    # Built-in kinds first, in the order this package declares them; then every other package's, by name.
    ours = [p for p in points if p.value.startswith(BUILT_IN)]
    theirs = sorted((p for p in points if not p.value.startswith(BUILT_IN)), key=lambda p: p.name)
    return {p.name: p for p in [*ours, *theirs]}


def kind_names() -> list[str]:
    """Every kind installed: this package's, then those other installed packages declare."""
    return list(_entry_points())


def get_kind(name: str) -> Kind:
    """The kind a spec's ``kind`` key names: an installed kind's name, or an import path to a ``Kind``."""
    if name in _loaded:
        return _loaded[name]
    if not isinstance(name, str):
        raise UnknownKindError(f"kind: must be a string, got {name!r}")
    if is_import_path(name):
        value = load_object(name)
    else:
        point = _entry_points().get(name)
        if point is None:
            raise UnknownKindError(f"kind: unknown kind {name!r}; the kinds are {', '.join(kind_names())}")
        try:
            value = point.load()
        except Exception as exc:  # an installed package's broken kind is named, not a traceback
            raise PluginError(f"kind {name!r} ({point.value}): cannot load ({type(exc).__name__}: {exc})") from None
    if not isinstance(value, Kind):
        raise PluginError(f"kind {name!r}: {type(value).__name__} is not a persona Kind")
    _loaded[name] = value
    return value


def is_built_in(kind: Kind) -> bool:
    return kind.run.__module__.startswith(BUILT_IN)


def kind_identity(name: str) -> dict[str, str] | None:
    """A plug-in kind's identity (import path + version or source digest); None for this package's own kinds."""
    kind = get_kind(name)
    if is_built_in(kind):
        return None
    return identity(name if is_import_path(name) else f"{kind.run.__module__}:{kind.run.__qualname__}", kind.run)
