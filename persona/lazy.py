"""Package namespaces whose names load on first use, so that importing a package costs only what is used from it.

DSPy and litellm take seconds to import; a package that re-exports its modules' names eagerly would load them for
a caller that wanted a configuration class or a name. ``lazy_names`` gives such a package its module
``__getattr__`` and ``__dir__``, from one table of defining module -> the public names it gives.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def lazy_names(
    package: str, modules: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: each name that ``modules`` lists imported from its module
    when first asked for, then kept in the package's namespace."""
    namespace = vars(importlib.import_module(package))
    public = {name: module for module, names in modules.items() for name in names}

    def getattr_(name: str) -> Any:
        if name not in public:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(public[name]), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted([*namespace, *public])

    return getattr_, dir_
