"""A synthetic run, built from real event payloads, for the plot tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from synthetic_run import history_of, synthetic_events

from lab.core.training.history import RunHistory


@pytest.fixture
def make_history() -> Callable[..., RunHistory]:
    """``make_history(epochs=3, name="run", ...)`` -> a completed synthetic run."""

    def make(name: str = "run", **kwargs: int) -> RunHistory:
        return history_of(synthetic_events(**kwargs), name=name)

    return make
