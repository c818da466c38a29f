"""P6: staged unfreezing vs plain fine-tuning of the same groups for the same epochs.

Both runs train the last ``GROUPS`` groups (head included) for ``EPOCHS`` epochs with the
same seed and data; the staged one trains the head alone (on cached features) for the
first ``FREEZE_EPOCHS``. The figure is the accuracy difference, not a time.
"""

from __future__ import annotations

from typing import Any

from benchmarks.common import BenchSettings
from lab.core.training.engine import Trainer

EPOCHS = 3
FREEZE_EPOCHS = 1
GROUPS = 3


def _run(settings: BenchSettings, freeze_epochs: int) -> dict[str, Any]:
    config = settings.config(
        approach="fine_tuning",
        trainable_groups=GROUPS,
        epochs=EPOCHS,
        freeze_epochs=freeze_epochs,
    )
    trainer = Trainer(config)
    trainer.run()
    if trainer.state != "completed":
        raise RuntimeError(f"P6 run (freeze_epochs={freeze_epochs}) ended {trainer.state}")
    final = trainer.history.final
    test = getattr(final, "test", None)
    return {
        "best_val_acc": trainer.history.best_val_acc,
        "test_acc": None if test is None else test.acc,
        "val_acc": [e.val_acc for e in trainer.history.evaluations],
        "unfrozen_at": [u.epoch for u in trainer.history.unfrozen],
    }


def measure(settings: BenchSettings) -> dict[str, Any]:
    """Plain and staged side by side; accuracy is the best validation epoch's."""
    plain = _run(settings, freeze_epochs=0)
    staged = _run(settings, freeze_epochs=FREEZE_EPOCHS)
    return {
        "p6_acc_staged": staged["best_val_acc"],
        "p6_acc_plain": plain["best_val_acc"],
        "details": {
            "plain": plain,
            "staged": staged,
            "epochs": EPOCHS,
            "freeze_epochs": FREEZE_EPOCHS,
            "trainable_groups": GROUPS,
        },
    }
