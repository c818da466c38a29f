"""P1: feature extraction with cached features vs the naive loop (frozen backbone every epoch)."""

from __future__ import annotations

import time
from typing import Any

from benchmarks.common import BenchSettings, median, watched
from lab.core.training.engine import Trainer
from lab.core.training.events import Event

EPOCHS = 10


def _run(settings: BenchSettings, cache: bool) -> dict[str, Any]:
    config = settings.config(approach="feature_extraction", epochs=EPOCHS, cache_features=cache)
    trainer = Trainer(config)
    timeline = watched(trainer)
    began = time.perf_counter()
    trainer.run()
    total = time.perf_counter() - began
    if trainer.state != "completed":
        raise RuntimeError(f"P1 run (cache={cache}) ended {trainer.state}: {trainer.history.error}")
    epochs = timeline.epoch_seconds()
    first_step = timeline.times(Event.STEP_COMPLETED)[0] - began
    return {
        "run_s": total,
        "epoch_s": epochs,
        "first_step_s": first_step,
        "best_val_acc": trainer.history.best_val_acc,
    }


def measure(settings: BenchSettings) -> dict[str, Any]:
    """Both runs side by side (same seed and data); epochs 2+ compared (epoch 1 fills the cache)."""
    naive = _run(settings, cache=False)
    cached = _run(settings, cache=True)
    return {
        "p1_epoch_speedup": median(naive["epoch_s"][1:]) / median(cached["epoch_s"][1:]),
        "p1_run_speedup": naive["run_s"] / cached["run_s"],
        "p1_acc_cached": cached["best_val_acc"],
        "p1_acc_naive": naive["best_val_acc"],
        "details": {"naive": naive, "cached": cached},
    }
