"""Lazy public names for the packages of ``lab.core`` (PEP 562).

A package lists which module provides each name; the module is imported the first time
the name is used, so importing a package stays cheap (no torch until it is needed).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, Iterable[str]], submodules: Iterable[str] = ()
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``.

    ``exports`` maps a module (absolute, or relative to ``package`` with a leading dot)
    to the names it provides; ``submodules`` are imported on attribute access too. A
    name must not equal a submodule's name: importing that submodule would replace it.
    """
    where = {name: module for module, names in exports.items() for name in names}
    subpackages = frozenset(submodules)
    clashes = sorted(subpackages & where.keys())
    if clashes:
        raise ImportError(f"{package}: names {clashes} are also submodules; export them elsewhere")

    def __getattr__(name: str) -> Any:
        if name in where:
            value = getattr(importlib.import_module(where[name], package), name)
        elif name in subpackages:
            value = importlib.import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(sys.modules[package], name, value)  # later look-ups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted({*where, *subpackages, *vars(sys.modules[package])})

    return __getattr__, __dir__
