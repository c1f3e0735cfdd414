"""Running a spec of any kind: its inputs read, a session of its models, its stages and files, its manifest.

Every kind runs through ``run_kind``, so no experiment opens a session, names a run dir or threads the execution
options through itself: a kind brings what to read (``prepare``), which models it needs (``models``) and what to
do in the session (``run``), and nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from persona.runs.kinds import get_kind
from persona.runs.manifest import Manifest
from persona.runs.session import RunStopped, Session
from persona.runs.spec import OneModelSpec, RolesSpec


def default_models(spec: Any) -> dict[str, Any]:
    """Every model role a spec has: its roles table, or its one model (role ``model``)."""
    if isinstance(spec, RolesSpec):
        return dict(spec.models)
    if isinstance(spec, OneModelSpec):
        return {"model": spec.model}
    return {}


def run_kind(
    spec: Any,
    out: Path | None = None,
    progress: Any = None,
    concurrency: int | None = None,
    max_failures: int | None = None,
    spec_path: Path | None = None,
) -> Any:
    """Run ``spec`` into its run dir (``out``, else its own ``out``, else its default), resuming what an earlier
    run of it finished; raises ``RunStopped`` when it stopped before its results.

    Args:
        spec: a validated spec of any kind.
        out: run dir, overriding ``spec.out``.
        progress: a rich ``Progress`` to report on; None runs silently.
        concurrency: items in flight (default 1; ``run_spec`` and the CLI default to the spec's ``[run]``).
        max_failures: failed items (over all stages) after which no new item starts.
        spec_path: where the spec came from, recorded in the manifest.
    """
    kind = get_kind(spec.kind)
    inputs = kind.prepare(spec)  # before any run dir exists: bad input writes nothing
    models = kind.models(spec, inputs) if kind.models is not None else default_models(spec)
    session = Session(
        Path(out or spec.out or spec.default_dir()),
        spec,
        models,
        concurrency=concurrency or 1,
        progress=progress,
        max_failures=max_failures,
        spec_path=spec_path,
    )
    with session:
        return kind.run(session, spec, inputs)


class Stopped(NamedTuple):
    """The result of a run that stopped before its results (see ``Session.stop``): no records, no metrics."""

    run_dir: Path
    manifest: Manifest
    reason: str


def run_spec(
    spec: Any,
    out: Path | None = None,
    spec_path: Path | None = None,
    progress: Any = None,
    concurrency: int | None = None,
    max_failures: int | None = None,
) -> Any:
    """Run a spec of any kind; ``concurrency`` and ``max_failures`` default to its ``[run]`` section.

    Returns the kind's result, which always has ``run_dir`` and ``manifest``; a run that stopped before its results
    returns a ``Stopped`` (its manifest's ``metrics`` are None).
    """
    try:
        return run_kind(
            spec,
            out=out,
            progress=progress,
            concurrency=concurrency or spec.run.concurrency,
            max_failures=max_failures or spec.run.max_failures,
            spec_path=spec_path,
        )
    except RunStopped as stopped:
        return Stopped(stopped.run_dir, stopped.manifest, str(stopped))
