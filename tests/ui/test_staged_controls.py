"""Staged unfreezing in step 3 and its mark on the live curves (recording comm)."""

from __future__ import annotations

from ui_helpers import tiny_factory, wait_until

from lab.core.training.config import RunConfig
from lab.ui import TransferLab
from lab.ui.approach_panel import ApproachPanel


def test_schedule_lists_stages_with_trainable_counts(comm_log) -> None:
    panel = ApproachPanel()
    staged = panel.staged
    assert "tl-unfreeze-epochs" in staged.epochs_slider._dom_classes
    panel.approach = "feature_extraction"
    assert staged.layout.display == "none"  # nothing to unfreeze
    panel.approach = "fine_tuning"
    panel.trainable_groups = 3
    staged.epochs = 4
    staged.freeze_epochs = 1  # the user's entry
    rows = staged.schedule.value
    assert "epoch 1: head" in rows and "epochs 2-4: head + last 2 group(s)" in rows
    assert rows.count("trainable") == 2
    assert f"({panel.trainable_params:,} trainable)" in rows  # the unfrozen stage's count
    staged.gradual = True
    assert "epoch 2: head + last 1 group(s)" in staged.schedule.value
    assert "epochs 3-4: head + last 2 group(s)" in staged.schedule.value
    staged.freeze_epochs = 4
    assert "none to unfreeze" in staged.schedule.value
    assert panel.staged_settings() == {"freeze_epochs": 4, "gradual": True}
    panel.approach = "feature_extraction"
    assert panel.staged_settings() == {"freeze_epochs": 0, "gradual": False}


def test_a_staged_run_marks_the_unfreeze_epoch_on_the_curves() -> None:
    app = TransferLab(trainer_factory=tiny_factory())
    try:
        app.train_panel.epochs, app.train_panel.batch_size = 3, 16
        app.approach_panel.approach = "fine_tuning"
        app.approach_panel.trainable_groups = 2
        app.approach_panel.staged.freeze_epochs = 1
        config = app.config()
        assert (config.freeze_epochs, config.approach) == (1, "fine_tuning")
        assert RunConfig.from_dict(config.to_dict()) == config
        app.start()
        wait_until(lambda: app.train_panel.status.value == "completed", what="completed")
        wait_until(lambda: bool(app.results_panel.figure.layout.shapes), what="unfreeze mark")
        shapes = app.results_panel.figure.layout.shapes
        assert {s.x0 for s in shapes} == {1} and len(shapes) == 2  # loss and accuracy axes
        notes = [a.text for a in app.results_panel.figure.layout.annotations]
        assert any(text.startswith("unfrozen") for text in notes)
        assert [u.epoch for u in app.view.history.unfrozen] == [2]
    finally:
        app.close()
