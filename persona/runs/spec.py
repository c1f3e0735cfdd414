"""Run specs: TOML files, validated by pydantic, that name everything a run depends on; one kind per experiment.

``ExperimentSpec`` is what every kind's spec shares (where and how it runs, its seed, its fingerprint);
``OneModelSpec`` and ``RolesSpec`` add its model roles with their defaults.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Iterable
from importlib.resources import files
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from persona.errors import InputError, validation_message
from persona.lm.config import ModelConfig
from persona.lm.roles import Role, role_fields, role_table
from persona.runs.kinds import get_kind, kind_identity

OUTPUTS = Path("outputs")


class SpecError(InputError):
    """A run spec that cannot be read or does not validate; the message names the file and the field."""


class Section(BaseModel):
    """A table of a spec file: unknown keys are refused, never ignored."""

    model_config = ConfigDict(extra="forbid")


class RunSection(Section):
    """How to execute, not what to compute: changing it never changes results or invalidates a run dir."""

    concurrency: int = Field(default=4, gt=0, description="items in flight at once")
    max_failures: int | None = Field(default=None, gt=0, description="stop starting items after this many fail")
    workers: int = Field(default=1, gt=0, description="processes (or Ray tasks) each stage's items are sharded over")
    executor: Literal["process", "ray"] = Field(
        default="process", description="'process': worker processes here; 'ray': Ray tasks, here or on a cluster"
    )
    ray_address: str | None = Field(
        default=None, description="the Ray cluster to join (executor 'ray'); none starts Ray on this machine"
    )


class ExperimentSpec(Section):
    """A kind's spec. Unknown keys are refused; ``run`` and ``out`` say where and how, never what is computed."""

    run: RunSection = Field(default_factory=RunSection, description="how to execute; never part of the results")
    seed: int = Field(default=0, description="everything random in the run derives from it")
    out: Path | None = Field(default=None, description="run dir (default: a name under outputs/ from the spec)")

    # Fields a kind gained after run dirs of it existed: left out of the fingerprint while at their default, so those
    # run dirs keep claiming their spec and replay.
    ADDED_LATER: ClassVar[tuple[str, ...]] = ()

    def fingerprint(self) -> str:
        return spec_fingerprint(self, EXECUTION | self.unset_later())

    def unset_later(self) -> set[str]:
        """The fields of ``ADDED_LATER`` this spec leaves at their default: what its fingerprint leaves out."""
        fields = type(self).model_fields
        return {n for n in self.ADDED_LATER if getattr(self, n) == fields[n].get_default(call_default_factory=True)}

    def default_dir(self) -> Path:
        """Where the run goes when neither ``out`` nor ``--out`` says."""
        return OUTPUTS / str(getattr(self, "kind", "run")).replace(":", "-")


class OneModelSpec(ExperimentSpec):
    """A spec with one LM; fields of ``model`` left out come from the kind's ``MODEL_ROLE``."""

    MODEL_ROLE: ClassVar[Role] = Role()
    model: ModelConfig = Field(
        default_factory=dict, validate_default=True, description="fields left out come from the kind's MODEL_ROLE"
    )

    @field_validator("model", mode="before")
    @classmethod
    def _role_defaults(cls, value: Any) -> Any:
        return role_fields(value, cls.MODEL_ROLE)


class RolesSpec(ExperimentSpec):
    """A spec with an LM per role; a role left out, or its fields left out, come from the kind's ``ROLES``."""

    ROLES: ClassVar[dict[str, Role]] = {}
    models: dict[str, ModelConfig] = Field(
        default_factory=dict, validate_default=True, description="per role; what is left out comes from ROLES"
    )

    @field_validator("models", mode="before")
    @classmethod
    def _every_role(cls, value: Any) -> Any:
        return role_table(value, cls.ROLES)


def model_slug(model: str) -> str:
    """A model string as a folder-name part: ``openai/gpt-4o`` -> ``openai-gpt-4o``."""
    return "".join(c if c.isalnum() else "-" for c in model).strip("-")


EXECUTION = frozenset({"kind", "run", "out"})  # where and how a run goes, never what it computes


def spec_fingerprint(spec: BaseModel, ignore: Iterable[str] = EXECUTION) -> str:
    """The digest of what determines a spec's results: its fields but ``ignore``, model configs by identity only
    (no credentials, retries or rate limits), so equal results-shaping content gives equal fingerprints."""
    content = spec.model_dump(mode="json", exclude={*ignore, "model", "models"})
    model = getattr(spec, "model", None)
    if model is not None:
        content["model"] = model.identity()
    models = getattr(spec, "models", None)
    if models is not None:
        content["models"] = {role: config.identity() for role, config in models.items()}
    return digest(content)


def digest(content: dict) -> str:
    """A spec fingerprint: sha256 of its canonical JSON, so equal contents give equal fingerprints."""
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def spec_class(kind: str) -> type[BaseModel]:
    """The spec class of a kind of run: what ``persona run`` validates a file of that kind against."""
    return get_kind(kind).spec


def metrics_class(kind: str) -> type[BaseModel]:
    """The typed metrics of a kind of run, as its manifest holds them."""
    return get_kind(kind).metrics


def run_fingerprint(spec: Any) -> str:
    """What claims a run dir: the spec's fingerprint, and a plug-in kind's identity, so that editing a plug-in kind
    starts a new run dir instead of mixing results of two versions (built-in kinds' fingerprints are the spec's)."""
    plugin = kind_identity(spec.kind)
    return spec.fingerprint() if plugin is None else digest({"spec": spec.fingerprint(), "kind": plugin})


SMOKE = "smoke"
MODEL_KEYS = ("model", "models")


def smoke_version(data: dict[str, Any]) -> dict[str, Any]:
    """The spec with its ``[smoke]`` table applied: those keys replace the spec's (tables merge one level deep),
    and every model role falls back to the embedded model unless ``[smoke]`` names one, so a paper-scale spec runs
    offline in minutes."""
    overrides = data.get(SMOKE, {})
    merged = {k: v for k, v in data.items() if k != SMOKE and (k not in MODEL_KEYS or k in overrides)}
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def load_spec(path: Path | str, smoke: bool = False) -> Any:
    """Read and validate a spec of any kind; every problem becomes one ``SpecError`` naming the file and key.

    ``smoke`` applies the file's ``[smoke]`` table (see ``smoke_version``); that table is validated either way.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(f"{path}: no such run spec") from None
    except IsADirectoryError:
        raise SpecError(f"{path}: a folder, not a run spec; give a .toml file such as runs/quickstart.toml") from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the run spec ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: not valid TOML ({exc})") from None
    try:
        kind_class = spec_class(data.get("kind", "quickstart"))
    except InputError as exc:
        raise SpecError(f"{path}: {exc}") from None
    if not isinstance(data.get(SMOKE, {}), dict):
        raise SpecError(f"{path}: {SMOKE}: must be a table of the keys a smoke run changes")
    full = {k: v for k, v in data.items() if k != SMOKE}
    try:
        spec = kind_class.model_validate(full)
    except ValidationError as exc:
        raise SpecError(f"{path}: {validation_message(exc)}") from None
    if SMOKE not in data and not smoke:
        return spec
    try:
        small = kind_class.model_validate(smoke_version(data))
    except ValidationError as exc:
        raise SpecError(f"{path}: [{SMOKE}] {validation_message(exc)}") from None
    return small if smoke else spec


def default_spec_toml(kind: str) -> str:
    """A kind's spec with every default written out, as TOML that ``load_spec`` reads back to the same spec.

    Keys without a value (TOML has no null) are left out, which gives them their default again.
    """
    import tomli_w

    spec = default_spec(kind)
    data = _without_nulls({"kind": kind} | spec.model_dump(mode="json"))
    return f"# persona run spec: kind {kind!r}, every default spelled out\n" + tomli_w.dumps(data)


def default_spec(kind: str) -> Any:
    """A kind's spec with every default, its required fields filled with placeholders naming them."""
    return spec_class(kind).model_validate(_required(kind))


def _required(kind: str) -> dict[str, str]:
    """Placeholders for the fields a kind has no default for, named so the user sees what to fill in."""
    fields = spec_class(kind).model_fields
    required = {name: f"<{name}>" for name, field in fields.items() if field.is_required()}
    return required | get_kind(kind).placeholders


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def quickstart_spec_path() -> Path:
    """The bundled quickstart spec (``runs/quickstart.toml`` in a checkout links to it)."""
    return Path(str(files("persona.runs").joinpath("quickstart.toml")))
