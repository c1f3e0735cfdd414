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
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from persona.errors import InputError
from persona.plugins import PluginError, identity, is_import_path, load_object

GROUP = "persona_testbed.kinds"
BUILT_IN = "persona."  # modules of this package: their identity is the package version in the manifest


def _no_inputs(spec: Any) -> None:
    return None


def _no_summary(result: Any) -> list[Any]:
    return []


F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def _registers(attribute: str) -> Any:
    """A decorator method of ``Kind``: it registers what it decorates as the kind's ``attribute``, unchanged."""

    def register(self: Kind, part: F) -> F:
        setattr(self, attribute, part)
        return part

    register.__doc__ = f"Register the decorated object as this kind's ``{attribute.lstrip('_')}``."
    return register


class Kind:
    """Everything about one kind of run that is not its engine: made once, its parts registered where they are
    defined (as a web framework registers routes), so a kind's module reads top to bottom with no list of parts.

    Example:
        >>> GREETINGS = Kind("greetings", GreetSpec)  # doctest: +SKIP
        >>> @GREETINGS.measures
        ... class GreetMetrics(Metrics): ...
        >>> @GREETINGS.runs
        ... def run(session, spec, inputs): ...

    Args:
        name: what a spec's ``kind`` key says (an entry point's name; an import path names a kind too).
        spec: its spec model (an ``ExperimentSpec``: ``kind``, ``seed``, ``run``, ``out``, ``fingerprint()``).
        subject: the model role whose model names a run when runs are compared (the model under test).
        placeholders: values for the spec's required fields when ``persona spec`` writes its defaults.

    The parts, each set by the decorator named beside it:
        metrics (``measures``): its typed run-level metrics, as the manifest holds them.
        run (``runs``): ``run(session, spec, inputs)``: the experiment in an open ``Session`` (its stages, result
            files and ``session.finish``); returns a result with ``run_dir`` and ``manifest``.
        prepare (``reads``): ``prepare(spec)``: what the run reads, read before any run dir exists, so bad input
            writes nothing (default: nothing).
        models (``needs``): ``models(spec, inputs)``: the model of each role the session builds (default: all the
            spec has).
        summary (``summarises``): what the terminal shows when a run ends: rich renderables from the result.
        report (``reports``): ``report.md`` again from a finished run's manifest alone (``bench report``).
        plots (``draws``): the figures again from a manifest, into a folder; returns the file names written.
        public (``exports``): names ``import persona`` offers besides the spec and the metrics.
    """

    def __init__(
        self,
        name: str,
        spec: type[BaseModel],
        *,
        subject: str | None = None,
        placeholders: dict[str, Any] | None = None,
    ) -> None:
        self.name, self.spec, self.subject = name, spec, subject
        self.placeholders = dict(placeholders or {})
        self._metrics: type[BaseModel] | None = None
        self._run: Callable[[Any, Any, Any], Any] | None = None
        self.prepare: Callable[[Any], Any] = _no_inputs
        self.models: Callable[[Any, Any], Mapping[str, Any]] | None = None
        self.summary: Callable[[Any], Sequence[Any]] = _no_summary
        self.report: Callable[[Any], str] | None = None
        self.plots: Callable[[Any, Path], list[str]] | None = None
        self._public: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"Kind({self.name!r}, {self.spec.__name__})"

    def check(self) -> None:
        """Refuse, by name, a kind that never registered a part every kind needs: its metrics and its run."""
        self.metrics, self.run  # noqa: B018 - each property raises when its part is missing

    @property
    def metrics(self) -> type[BaseModel]:
        if self._metrics is None:
            raise PluginError(f"kind {self.name!r} has no metrics model: decorate one with @<kind>.measures")
        return self._metrics

    @property
    def run(self) -> Callable[[Any, Any, Any], Any]:
        if self._run is None:
            raise PluginError(f"kind {self.name!r} has nothing to run: decorate its run function with @<kind>.runs")
        return self._run

    @property
    def public(self) -> dict[str, Any]:
        """The names ``import persona`` offers for this kind."""
        return {self.spec.__name__: self.spec, self.metrics.__name__: self.metrics, **self._public}

    def entry(self, name: str) -> Callable[..., Any]:
        """The function that runs this kind from Python, ``name(spec, out=None, **options)``, offered as
        ``persona.<name>``; ``options`` are ``persona.run_kind``'s (progress, concurrency, max_failures, spec_path)."""

        def run(spec: Any, out: Path | None = None, **options: Any) -> Any:
            from persona.runs.engine import run_kind

            return run_kind(spec, out, **options)

        run.__name__ = run.__qualname__ = name
        run.__doc__ = f"Run a `{self.name}` spec into its run dir (resuming what an earlier run of it finished)."
        self._public[name] = run
        return run

    def exports(self, value: T) -> T:
        """Offer ``value`` as ``persona.<its name>``."""
        self._public[value.__name__] = value  # type: ignore[attr-defined]
        return value

    measures = _registers("_metrics")
    runs = _registers("_run")
    reads = _registers("prepare")
    needs = _registers("models")
    summarises = _registers("summary")
    reports = _registers("report")
    draws = _registers("plots")


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
    value.check()
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
