"""An interrupted run shows what it reached in step 6 and its best checkpoint serves step 7.

A run is trained and saved, then its folder is cut back to what a process killed just
after its last checkpoint leaves (every line up to it, half of the next one). The
compare tab lists it as interrupted; "Use best checkpoint" makes it the model that
predicts, explains and downloads in step 7, until a new run trains.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image
from ui_helpers import tiny_factory

from lab.core.runs.saved_model import SavedModel
from lab.ui import TransferLab


def _interrupt(folder: Path) -> None:
    """Cut ``metrics.jsonl`` as a SIGKILL just after the last checkpoint would."""
    lines = (folder / "metrics.jsonl").read_text().splitlines(keepends=True)
    events = [json.loads(line) for line in lines]
    last = max(i for i, e in enumerate(events) if e["type"] == "checkpoint_saved")
    kept = "".join(lines[: last + 1]) + lines[last + 1][: len(lines[last + 1]) // 2]
    (folder / "metrics.jsonl").write_text(kept)
    (folder / "test.json").unlink(missing_ok=True)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[TransferLab]:
    app = TransferLab(trainer_factory=tiny_factory(save=True), runs_dir=str(tmp_path), live=False)
    app.train_panel.epochs, app.train_panel.batch_size = 3, 8
    yield app
    app.close()


def _train(app: TransferLab) -> Any:
    trainer = app.start()
    assert trainer is not None and trainer.join(60), "the run did not end"
    app.pump.drain()
    assert trainer.state == "completed"
    return trainer


def _sent(comm_log: Any, widget: Any, name: str) -> list[Any]:
    """Values of trait ``name`` that ``widget`` sent to the page."""
    return [
        m[2]["state"][name]
        for m in comm_log.messages
        if m[1] == widget.comm.comm_id and name in m[2].get("state", {})
    ]


def test_an_interrupted_runs_best_checkpoint_predicts_and_downloads_in_step_7(
    lab: TransferLab, tmp_path: Path, comm_log: Any
) -> None:
    killed = _train(lab)
    folder = killed.run_dir
    _interrupt(folder)
    best = torch.load(folder / "best.pt", weights_only=True)
    compare = lab.compare_panel
    compare.runs.clear()  # a fresh kernel: the run is known only from its folder
    compare.load_button.click()
    assert "Interrupted" in compare.info.value and folder.name in compare.info.value
    ((label, name),) = compare.checkpoint_choice.options
    assert name == folder.name and "interrupted" in label and f"epoch {best['epoch']}" in label
    assert compare.checkpoint_choice.value == name

    compare.use_button.click()
    assert compare.error.layout.display == "none", compare.error.value
    model = lab.trained_model()
    assert isinstance(model, SavedModel) and model.state == "interrupted"
    for key, value in best["state_dict"].items():
        assert torch.equal(model.parts.model.state_dict()[key], value), key
    assert folder.name in compare.checkpoint_info.value
    assert any(folder.name in v for v in _sent(comm_log, compare.checkpoint_info, "value"))
    test = lab.use_panel
    assert folder.name in test.test_acc.value and "download it below" in test.test_acc.value

    top = test.predict_image(Image.new("RGB", (8, 8), "red"))
    assert sorted(n for n, _ in top) == ["a", "b", "c", "d"]
    assert sum(p for _, p in top) == pytest.approx(1.0, abs=1e-4)
    file = test.take_home.download("state-dict")
    assert file is not None and file[0] == f"{folder.name}-model_state.pt"
    exported = torch.load(io.BytesIO(file[2]), weights_only=True)
    assert exported["class_names"] == ["a", "b", "c", "d"]
    for key, value in best["state_dict"].items():
        assert torch.equal(exported["state_dict"][key], value), key
    metadata = json.loads((test.take_home.download("metadata") or ("", "", b"{}"))[2])
    assert metadata["run_id"] == folder.name

    newer = _train(lab)  # a run that trains takes step 7 over again
    assert lab.trained_model() is newer


def test_a_run_without_usable_weights_is_named_in_the_error_box(lab: TransferLab) -> None:
    compare = lab.compare_panel
    compare.use_button.click()
    assert "no listed run has a saved best checkpoint" in compare.error.value
    folder = _train(lab).run_dir
    (folder / "best.pt").write_bytes(b"")  # the disk filled as it was written
    compare.use_button.click()
    assert compare.error.layout.display != "none"
    assert folder.name in compare.error.value and "best.pt" in compare.error.value
    assert lab.trained_model() is lab.trainer
