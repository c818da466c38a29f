"""The one error type the data layer raises for bad input."""

from __future__ import annotations


class DataError(ValueError):
    """Bad data input: the message names the problem and the way to fix it."""
