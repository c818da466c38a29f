"""The one error type the data layer raises for bad input, and a shared check."""

from __future__ import annotations

from typing import Any

import numpy as np


class DataError(ValueError):
    """Bad data input: the message names the problem and the way to fix it."""


def index_array(values: Any, size: int, what: str, owner: str) -> np.ndarray:
    """``values`` as a 1-D int64 array of positions in ``0..size-1``, else a DataError."""
    array = np.asarray(values, dtype=np.int64)
    if array.ndim != 1:
        raise DataError(f"{what} must be one-dimensional, got shape {array.shape}")
    if array.size and (array.min() < 0 or array.max() >= size):
        raise DataError(
            f"{what} must lie in 0..{size - 1} for {owner}, got {array.min()}..{array.max()}"
        )
    return array
