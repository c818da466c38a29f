"""Step 4's learning-rate finder: a sweep on a fresh trainer, on a thread of its own.

The sweep's result goes onto the pump's queue like every run event; the app draws it
(:meth:`lab.ui.app.TransferLab._show_lr_found`) and owns the learning rate it sets.
"""

from __future__ import annotations

import threading

from lab.core.training.engine import Trainer
from lab.ui.messages import LRFinderDone, LRFinderFailed, LRFinderStarted
from lab.ui.pump import EventPump


class LRSearch:
    """At most one learning-rate sweep at a time, reported through ``pump``."""

    def __init__(self, pump: EventPump) -> None:
        self.pump = pump
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether a sweep is still at work."""
        return self._thread is not None and self._thread.is_alive()

    def launch(self, trainer: Trainer) -> None:
        """Sweep ``trainer``'s learning rates in the background (the caller checks first)."""
        self.pump.submit(LRFinderStarted())
        self._thread = threading.Thread(
            target=self._sweep, args=(trainer,), name="transfer-lab-lr-finder", daemon=True
        )
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the sweep (tests, scripts)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _sweep(self, trainer: Trainer) -> None:
        try:
            result = trainer.find_lr()
        except Exception as error:  # noqa: BLE001 - reported in the panel
            self.pump.put(LRFinderFailed(f"The LR finder failed: {error}"))
            return
        suggested = float(result.suggested_lr) if result.suggested_lr else None
        self.pump.put(LRFinderDone(list(result.lrs), list(result.losses), suggested))
