"""Plug-ins named by import path (``"mypkg.module:Name"``): loading them, and the identity that enters fingerprints.

A run's fingerprint must change when the code that shapes its results changes, or a run dir would silently mix
answers of two versions of someone's approach. Built-in code is covered by the package version in the manifest;
a plug-in from the user's own package is identified by its import path and, unless it declares a ``version``, a
digest of its module's source.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import re
import sys
from typing import Any

from persona.errors import InputError

IMPORT_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


class PluginError(InputError):
    """A plug-in path that does not import, or names something of the wrong kind; the message names the path."""


def is_import_path(text: str) -> bool:
    """``"module.sub:Name"``, as a plug-in is named in a spec (built-in names have no colon)."""
    return bool(IMPORT_PATH.match(text))


def load_object(path: str) -> Any:
    """The object an import path names; a path that does not import names the path and the error."""
    if not is_import_path(path):
        raise PluginError(f"{path!r}: not an import path; write it as 'package.module:Name'")
    module_name, _, attribute = path.partition(":")
    if "" not in sys.path:  # `python -m` and console scripts leave the working folder off; a user's module is there
        sys.path.append("")
    try:
        value: Any = importlib.import_module(module_name)
    except Exception as exc:  # any error while importing someone else's module is theirs to fix, by name
        raise PluginError(f"{path}: cannot import {module_name} ({type(exc).__name__}: {exc})") from None
    for part in attribute.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise PluginError(f"{path}: {module_name} has no attribute {attribute!r}") from None
    return value


def identity(path: str, value: Any) -> dict[str, str]:
    """What identifies a plug-in's behaviour: its path and its declared ``version`` (on the object, else its module's
    ``version`` or ``__version__``), else a digest of its module's source.

    The digest covers the whole module the object is defined in, so editing a helper beside it counts too.
    """
    module = inspect.getmodule(value) or sys.modules.get(path.partition(":")[0])
    for owner, name in ((value, "version"), (module, "version"), (module, "__version__")):
        version = getattr(owner, name, None)
        if isinstance(version, str) and version:
            return {"path": path, "version": version}
    try:
        source = inspect.getsource(module) if module is not None else ""
    except (OSError, TypeError):
        raise PluginError(
            f"{path}: its source cannot be read; give it a `version` string that changes with it"
        ) from None
    return {"path": path, "source_sha256": hashlib.sha256(source.encode()).hexdigest()}


def import_path_of(value: Any) -> str:
    """The import path naming ``value``: a class or function by itself, any other object by its class; refused
    when the path does not lead back to it (defined inside a function, or replaced since), since a spec, a
    fingerprint and a resumed run must be able to name it again."""
    target = value if inspect.isclass(value) or inspect.isfunction(value) else type(value)
    path = f"{target.__module__}:{target.__qualname__}"
    if "<locals>" in path or load_object(path) is not target:
        raise PluginError(f"{path}: cannot be named by import path; define it at the top level of a module")
    return path


def load_callable(path: str, called_with: str) -> Any:
    """The callable an import path names, as a spec names a responder or a predictor: a class is made once without
    arguments, anything else callable is used as it is; one that is neither is named with what it should take."""
    value = load_object(path)
    if isinstance(value, type):
        try:
            value = value()
        except Exception as exc:  # the user's constructor: named, not a traceback
            raise PluginError(
                f"{path}: cannot be constructed without arguments ({type(exc).__name__}: {exc})"
            ) from None
    if not callable(value):
        raise PluginError(f"{path}: a {type(value).__name__} is not callable with {called_with}")
    return value
