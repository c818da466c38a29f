"""Type checks of a DataSpec's settings, in the words the other settings use.

Each check returns ``"name=value: what to choose"`` or None; a wrong type (a string
``"64"``, a float ``64.5``) is told the same way as a value out of range.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .errors import DataError


def _whole(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _fraction(name: str, value: object) -> str | None:
    number = isinstance(value, int | float | np.floating) and not isinstance(value, bool)
    if number and math.isfinite(float(value)):  # type: ignore[arg-type]
        return None
    return f"{name}={value!r}: choose a fraction from 0 up to (not including) 1, e.g. 0.2"


def problems(spec: Any) -> list[str]:
    """What is wrong with the types of ``spec``'s fields (ranges are checked elsewhere)."""
    size = spec.image_size
    checks = [
        None if isinstance(spec.name, str) and spec.name else
        f"name={spec.name!r}: choose a data set name, e.g. 'shapes' or 'folder'",
        None if spec.path is None or isinstance(spec.path, str) else
        f"path={spec.path!r}: give the folder as a string, or None",
        _fraction("val_fraction", spec.val_fraction),
        _fraction("test_fraction", spec.test_fraction),
        None if _whole(spec.seed) and spec.seed >= 0 else
        f"seed={spec.seed!r}: choose a whole number >= 0",
        None if size is None or (_whole(size) and size >= 1) else
        f"image_size={size!r}: choose a whole, positive number of pixels (e.g. 64), or None",
        None if isinstance(spec.augment, bool) else
        f"augment={spec.augment!r}: choose True or False",
    ]  # fmt: skip
    return [p for p in checks if p is not None]


def check(spec: Any) -> None:
    """Raise :class:`DataError` naming the first badly typed setting of ``spec``."""
    for problem in problems(spec):
        raise DataError(problem)
