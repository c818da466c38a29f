"""What a finished run leaves in the lab once the next run has taken the display.

The next run's first step makes step 7 use it, so the app lets the previous trainer
(model, data, caches) go; the previous run's history stays listed for comparison with
its curves and scores, without the per-image arrays only the live results draw.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from ui_helpers import tiny_factory

from lab.plots import compare_data, results_table
from lab.ui import TransferLab


@pytest.fixture
def lab() -> Iterator[TransferLab]:
    app = TransferLab(trainer_factory=tiny_factory(), runs_dir=None, live=False)
    app.train_panel.epochs, app.train_panel.batch_size = 2, 8
    app.results_panel.ensure_figure()
    yield app
    app.close()


def _train(app: TransferLab) -> Any:
    trainer = app.start()
    assert trainer is not None and trainer.join(60), "the run did not end"
    app.pump.drain()
    assert trainer.state == "completed", trainer.history.error
    return trainer


def test_the_next_run_lets_the_previous_trainer_and_its_per_image_data_go(
    lab: TransferLab,
) -> None:
    first = _train(lab)
    shown = lab.view.history
    assert shown is not None and shown.evaluations[-1].val_predictions.size > 0
    assert shown.evaluations[-1].embedding is not None  # drawn now: kept
    assert lab.results_panel.gradcam.choice.options, "the gallery offers its images"
    curves, table = compare_data([shown]), results_table([shown])
    gone = weakref.ref(first)
    del first

    _train(lab)
    gc.collect()
    assert gone() is None, "the previous trainer is still held"
    assert lab.trained_model() is lab.trainer
    for evaluation in shown.evaluations:
        assert evaluation.val_predictions.size == 0 and evaluation.embedding is None
        assert evaluation.val_losses is None and evaluation.val_confidence is None
        assert np.asarray(evaluation.confusion).sum() > 0  # scores stay
    assert compare_data([shown]) == curves and results_table([shown]) == table
    assert shown.name in lab.compare_panel.runs and len(lab.compare_panel.runs) == 2
    current = lab.view.history
    assert current is not None and current.evaluations[-1].val_predictions.size > 0
