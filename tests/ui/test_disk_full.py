"""A disk that fills mid-run: the dashboard leaves "running" and says which file and why."""

from __future__ import annotations

from pathlib import Path

import pytest
from ui_helpers import tiny_factory

from lab.core.runs import atomic
from lab.ui import TransferLab
from tests.core.training.test_faults import FullDisk


@pytest.mark.parametrize(
    ("file", "allow"),
    [("metrics.jsonl", 12), ("best.pt.tmp", 0)],  # after a few steps; the first checkpoint
)
def test_a_full_disk_mid_run_ends_the_run_in_the_panel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, file: str, allow: int
) -> None:
    app = TransferLab(trainer_factory=tiny_factory(save=True), runs_dir=str(tmp_path), live=False)
    try:
        app.train_panel.epochs, app.train_panel.batch_size = 3, 8
        monkeypatch.setattr(atomic, "_write", FullDisk(file, allow))
        trainer = app.start()
        assert trainer is not None and trainer.join(60), "the run did not end"
        app.pump.drain()
        panel = app.train_panel
        assert panel.status.value == "failed" and trainer.state == "failed"
        assert panel.pause_button.disabled and panel.stop_button.disabled
        assert not panel.start_button.disabled
        assert "disk is full" in panel.error.value and file.split(".tmp")[0] in panel.error.value
        assert not list(tmp_path.rglob("*.tmp")), "a partial file was left behind"
    finally:
        app.close()
