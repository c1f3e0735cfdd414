"""The project's error family: what a user can get wrong raises a ``PersonaError``, never a bare library error.

The CLI turns any of them into one line (``error: <message>``) and exit status 2, in one place; Python callers
catch ``PersonaError`` (or ``ValueError``, which every input error also is). A message names the file, key or flag
at fault and says what is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError


class PersonaError(Exception):
    """Something the user can fix: bad input, a run dir in use, a download that cannot finish."""


class InputError(PersonaError, ValueError):
    """A file, spec key, flag or value that the project cannot use; the message says which and why."""


def _location(error: Mapping[str, Any], names: dict[str, str]) -> str:
    parts = [str(part) for part in error["loc"]]
    for end in range(len(parts), 0, -1):  # the longest dotted key the caller has a name for
        key = ".".join(parts[:end])
        if key in names:
            return names[key] + "".join(f".{part}" for part in parts[end:])
    return ".".join(parts) or "(top level)"


def validation_message(exc: ValidationError, names: dict[str, str] | None = None) -> str:
    """Pydantic's errors as one line: ``where: why`` for each, without its input dump or documentation links.

    ``names`` maps a field (dotted when nested: ``models.judge.model``) to what the user typed for it (a flag such
    as ``--judge``); other fields keep their key.
    """
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        message = error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        where = _location(error, names or {})
        problems.append(message if error["loc"] == () or where == "(top level)" else f"{where}: {message}")
    return "; ".join(dict.fromkeys(problems))
