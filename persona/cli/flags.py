"""A kind's subcommand, its flags generated from its spec's fields: one source for every setting.

A flag's type, bounds, help and shown default come from the spec field it sets (``Field(description=..., gt=...)``
and the spec's default), so the command line and a spec file cannot disagree about a default and ``--help``
shows every one. A command names only which fields it offers, under which flag where the names differ, and the
flags that set several keys at once (a comma-separated list, ``train:held-out``).
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, cast, get_args, get_origin

import annotated_types
import typer
import typer.main
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from persona.cli.base import (
    ConcurrencyOption,
    MaxFailuresOption,
    OutOption,
    RayOption,
    WorkersOption,
    _Command,
    execute,
    fail,
)

EXECUTION: dict[str, Any] = {
    "out": OutOption,
    "concurrency": ConcurrencyOption,
    "max_failures": MaxFailuresOption,
    "workers": WorkersOption,
    "ray": RayOption,
}


@dataclass(frozen=True)
class Flag:
    """A flag whose name or value differs from the spec key it sets.

    Args:
        key: the dotted spec key it sets (``models.judge.model``): its field gives type, bounds, help, default.
        option: the flag as typed, when not ``--<param-name>`` (e.g. ``--slice`` for a list, given repeatedly).
        split: turns the flag's text into several keys (``csv``), for values a flag writes in one word.
        help: the help, when the flag means more than its field says (e.g. which role a model flag sets).
        shown: the keys whose defaults ``--help`` shows, joined by ``:``, for a flag that sets several.
    """

    key: str
    option: str | None = None
    split: Callable[[str], dict[str, Any]] | None = None
    help: str | None = None
    shown: tuple[str, ...] = ()


def model_flags(config: str, flag: str, what: str, api_flag: str = "api_base") -> dict[str, Flag]:
    """A role's model string and endpoint as two flags: ``--<flag>`` (``what``) and ``--<api_flag>``; ``config`` is
    the role's model table (``models.judge``, or ``model`` in a one-model spec)."""
    endpoint = f"endpoint for --{flag.replace('_', '-')}, e.g. a vLLM server"
    return {flag: Flag(f"{config}.model", help=what), api_flag: Flag(f"{config}.api_base", help=endpoint)}


def csv(key: str) -> Flag:
    """A comma-separated flag (``--modes a,b``) as the list under ``key``."""
    return Flag(key, split=lambda value: {key: [part.strip() for part in value.split(",")]})


def _field(model: type[BaseModel], path: list[str]) -> FieldInfo:
    """The field a dotted key ends at: through nested sections, and through a table of roles by any role name."""
    field = model.model_fields[path[0]]
    rest = path[1:]
    while rest:
        inner = _model_in(field.annotation)
        if get_origin(_unoptional(field.annotation)) is dict:
            rest = rest[1:]  # the table's key (a role name): its value's fields follow
        field = inner.model_fields[rest[0]]
        rest = rest[1:]
    return field


def _model_in(annotation: Any) -> type[BaseModel]:
    for candidate in (annotation, *get_args(_unoptional(annotation))):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    raise TypeError(f"{annotation!r} holds no section")


def _unoptional(annotation: Any) -> Any:
    """``X | None`` as ``X``."""
    if get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _value(spec: Any, path: list[str]) -> Any:
    value = spec
    for part in path:
        value = value[part] if isinstance(value, Mapping) else getattr(value, part, None)
    return value


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "none"
    return "none" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def _bounds(field: FieldInfo, whole: bool) -> dict[str, Any]:
    """Click's range for a field's bounds: exact for whole numbers, closed ends only for real ones."""
    bounds: dict[str, Any] = {}
    for rule in field.metadata:
        if isinstance(rule, annotated_types.Ge):
            bounds["min"] = rule.ge
        elif isinstance(rule, annotated_types.Gt) and whole:
            bounds["min"] = int(cast(int, rule.gt)) + 1
        elif isinstance(rule, annotated_types.Le):
            bounds["max"] = rule.le
        elif isinstance(rule, annotated_types.Lt) and whole:
            bounds["max"] = int(cast(int, rule.lt)) - 1
    return bounds


def _option(name: str, flag: Flag, field: FieldInfo, default: Any) -> Any:
    """The annotated type of one generated flag: its type, option names, help, shown default and bounds."""
    annotation = _unoptional(field.annotation)
    choices = get_args(annotation) if get_origin(annotation) is Literal else ()
    repeated = get_origin(annotation) is list and flag.split is None
    kind: Any = bool if annotation is bool else int if annotation is int else float if annotation is float else str
    if flag.split is not None:
        kind = str  # its text becomes several keys, each checked by the spec
    text = flag.help or field.description or ""
    if choices:
        text += f"{'; ' if text else ''}one of: {', '.join(map(str, choices))}"
    if len(text.split(":")[0]) > 1:  # "n: answers per item" keeps its symbol's case
        text = text[:1].upper() + text[1:]
    text = text.rstrip(".") + "."
    dashed = flag.option or f"--{name.replace('_', '-')}"
    option = typer.Option(
        f"{dashed}/--no-{dashed[2:]}" if kind is bool else dashed,
        help=text.replace("[", "\\["),  # rich markup would swallow a [table] or [ADDRESS]
        show_default=_shown(default),
        **(_bounds(field, whole=kind is int) if kind in (int, float) else {}),
    )
    return Annotated[(list[str] if repeated else kind) | None, option]


@dataclass(frozen=True)
class KindFlags:
    """Which spec keys a kind's subcommand offers as flags: names (space-separated, in ``--help`` order) that are
    spec keys of the same name unless ``flags`` says otherwise, and the flags of where and how it runs."""

    kind: str
    offered: str
    flags: Mapping[str, Flag]
    execution: bool = True

    def targets(self) -> dict[str, Flag]:
        return {name: self.flags.get(name, Flag(name)) for name in self.offered.split()}

    def params(self) -> list[Any]:
        """The click options, each typed, bounded, described and defaulted by its spec field."""
        from persona.runs.spec import default_spec

        spec_class, default = _spec(self.kind), default_spec(self.kind)
        parameters = []
        for name, flag in self.targets().items():
            path = flag.key.split(".")
            value = ":".join(str(_value(default, [k])) for k in flag.shown) if flag.shown else _value(default, path)
            annotation = _option(name, flag, _field(spec_class, path), value)
            parameters.append(
                inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation)
            )
        if self.execution:
            parameters += [
                inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation)
                for name, annotation in EXECUTION.items()
            ]

        def signature() -> None: ...

        signature.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        signature.__annotations__ = {p.name: p.annotation for p in parameters}
        params, _ = typer.main._get_params_name_from_function(signature)  # typer's own conversion of a signature
        return list(params)


class KindCommand(_Command):
    """A kind's subcommand: its flags are made from the spec when the command is used (parsed or helped), so that
    ``persona --help`` and every other command start without importing the experiments."""

    plan: ClassVar[KindFlags]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.callback = self._run
        self._made = False

    def get_params(self, ctx: Any) -> list[Any]:
        if not self._made:
            self.params.extend(self.plan.params())
            self._made = True
        return super().get_params(ctx)

    def _run(self, **given: Any) -> None:
        execute(build_spec(self.plan.kind, given, self.plan.targets()), given)


def add_kind_command(
    app: typer.Typer,
    name: str,
    kind: str,
    offered: str,
    flags: Mapping[str, Flag] | None = None,
    *,
    doc: str,
    execution: bool = True,
) -> None:
    """Add ``name`` to ``app``: a subcommand that runs ``kind`` with the flags given (see ``KindFlags``); flags
    left out take the spec's defaults, which ``--help`` shows."""
    plan = KindFlags(kind, offered, dict(flags or {}), execution)

    def command() -> None:
        """Replaced by ``KindCommand._run``, which receives the generated flags."""

    command.__doc__ = f"{doc}\n\nFlags left out take the `{kind}` spec's defaults (`persona spec {kind}` prints them)."
    app.command(name, cls=type(f"{kind.title()}Command", (KindCommand,), {"plan": plan}))(command)


def _spec(kind: str) -> type[BaseModel]:
    from persona.runs.spec import spec_class

    return spec_class(kind)


def spec_values(given: Mapping[str, Any], flags: Mapping[str, Flag]) -> tuple[dict[str, Any], dict[str, str]]:
    """The nested spec table of the flags given (None: not given), and each dotted key's flag, for error messages."""
    values: dict[str, Any] = {}
    names: dict[str, str] = {}
    for name, value in given.items():
        if value is None or value == () or value == [] or name in EXECUTION:
            continue
        flag = flags.get(name, Flag(name))
        keys = flag.split(value) if flag.split is not None else {flag.key: value}
        for key, item in keys.items():
            names[key] = flag.option or f"--{name.replace('_', '-')}"
            *tables, last = key.split(".")
            table = values
            for part in tables:
                table = table.setdefault(part, {})
            table[last] = str(item) if isinstance(item, Path) else list(item) if isinstance(item, tuple) else item
    return values, names


def build_spec(kind: str, given: Mapping[str, Any], flags: Mapping[str, Flag]) -> Any:
    """The spec of ``kind`` from the flags given; a bad value is reported by its flag."""
    from pydantic import ValidationError

    from persona.errors import validation_message

    values, names = spec_values(given, flags)
    try:
        return _spec(kind).model_validate(values)
    except ValidationError as exc:
        fail(validation_message(exc, names))
