"""Cooperative stop and pause between training steps.

The run thread calls :meth:`RunControl.between_steps` between steps (and between
evaluation batches). Other threads only set flags, so stop takes effect within one
step and pause parks the run thread on an event instead of spinning.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

Item = TypeVar("Item")
Done = TypeVar("Done")


class StopRequested(Exception):
    """Raised on the run thread between steps after :meth:`RunControl.request_stop`."""


class RunControl:
    """Stop and pause flags shared by the caller's thread and the run thread."""

    def __init__(
        self,
        on_pause: Callable[[], None] = lambda: None,
        on_resume: Callable[[], None] = lambda: None,
    ) -> None:
        self._stop = threading.Event()
        self._go = threading.Event()  # cleared while paused
        self._go.set()
        self._on_pause, self._on_resume = on_pause, on_resume
        #: Held by the run thread during each step or evaluation batch, so callers
        #: (e.g. predict) never see the model half-way through an update.
        self.model_lock = threading.RLock()
        #: Seconds spent paused so far (timings leave them out).
        self.paused_s = 0.0

    @property
    def stop_requested(self) -> bool:
        """Whether a stop was asked for (the run ends at its next checkpoint)."""
        return self._stop.is_set()

    def request_stop(self) -> None:
        """Ask the run to end at its next step boundary (also wakes a paused run)."""
        self._stop.set()
        self._go.set()

    def request_pause(self) -> None:
        """Ask the run to wait at its next step boundary until resumed or stopped."""
        if not self._stop.is_set():
            self._go.clear()

    def request_resume(self) -> None:
        """Let a paused run continue."""
        self._go.set()

    def between_steps(self) -> None:
        """Between steps: raise :class:`StopRequested`, or wait out a pause."""
        if self._stop.is_set():
            raise StopRequested
        if self._go.is_set():
            return
        self._on_pause()
        began = time.perf_counter()
        self._go.wait()
        self.paused_s += time.perf_counter() - began
        if self._stop.is_set():
            raise StopRequested
        self._on_resume()


def each_until_stopped(
    items: Iterable[Item],
    work: Callable[[Item], Done],
    on_done: Callable[[Done], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[list[Done], bool]:
    """``work`` on each item in turn, polling ``should_stop`` before each one.

    ``on_done`` gets each result as it is ready (e.g. to show progress). Returns the
    results so far and whether ``should_stop`` ended the loop early.
    """
    results: list[Done] = []
    for item in items:
        if should_stop is not None and should_stop():
            return results, True
        result = work(item)
        results.append(result)
        if on_done is not None:
            on_done(result)
    return results, False
