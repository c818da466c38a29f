"""Run folders: written as the run goes, loaded back into the same history and weights."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from lab.core.runs.export import export_model
from lab.core.runs.saved import (
    list_runs,
    load_checkpoint,
    load_run,
    payload_from_dict,
    payload_to_dict,
    read_history,
)
from lab.core.training import events
from lab.core.training.events import (
    CheckpointSaved,
    Embedding,
    EpochStarted,
    EvaluationCompleted,
    Event,
    RunCompleted,
    RunFailed,
    RunPaused,
    RunResumed,
    RunStarted,
    RunStopped,
    StepCompleted,
)
from tests.core.tiny_runs import CLASSES, Recorder, tiny_model, tiny_trainer


def _array(values: list[object], dtype: type = np.int64) -> np.ndarray:
    return np.asarray(values, dtype=dtype)


EXAMPLES = [
    RunStarted(
        "r1", {"lr": 0.1, "data": {"name": "x"}}, ("a", "b"), 8, 4, 2, 3, "cpu", None, 10, 5
    ),
    EpochStarted(1, 3),
    StepCompleted(1, 2, 2, 6, 0.5, 0.01, 100.0, 1.5),
    EvaluationCompleted(
        1,
        2,
        0.4,
        0.8,
        0.6,
        0.75,
        _array([[1, 1], [0, 2]]),
        _array([1.0, 0.5], float),
        _array([0.5, 1.0], float),
        _array([0, 1, 1, 1]),
        Embedding(
            "pca",
            _array([[0.1, 0.2], [0.3, 0.4]], float),
            _array([0, 1]),
            _array([0, 1]),
            _array([0, 3]),
        ),
    ),
    EvaluationCompleted(
        2,
        4,
        0.4,
        0.8,
        0.6,
        0.75,
        _array([[2]]),
        _array([1.0], float),
        _array([1.0], float),
        _array([0, 0]),
    ),
    CheckpointSaved(1, "runs/x/best.pt", 0.75),
    RunPaused(1, 1),
    RunResumed(1, 1),
    RunStopped(2, 3),
    RunCompleted(3, 6, 0.75, events.TestMetrics(0.3, 0.9, _array([[4, 0], [1, 5]]), 10)),
    RunCompleted(3, 6, 0.75),
    RunFailed(1, 1, "loss became nan", "NonFiniteLoss"),
]


def _same(a: object, b: object) -> bool:
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b)
    if hasattr(a, "__dataclass_fields__"):
        return type(a) is type(b) and all(
            _same(getattr(a, name), getattr(b, name)) for name in a.__dataclass_fields__
        )
    return a == b and type(a) is type(b)


@pytest.mark.parametrize("payload", EXAMPLES, ids=lambda p: type(p).__name__)
def test_every_payload_survives_a_json_round_trip(payload: object) -> None:
    line = json.dumps(payload_to_dict(payload))  # type: ignore[arg-type]
    back = payload_from_dict(json.loads(line))
    assert _same(payload, back)


def test_a_run_folder_holds_config_metrics_checkpoint_and_test(tmp_path: Path) -> None:
    trainer = tiny_trainer(runs_dir=str(tmp_path), epochs=3, lr=0.1, embedding="pca")
    recorder = Recorder(trainer)
    trainer.run()
    run_dir = trainer.run_dir
    assert run_dir is not None and run_dir.parent == tmp_path
    assert {p.name for p in run_dir.iterdir()} == {
        "config.json",
        "metrics.jsonl",
        "best.pt",
        "test.json",
    }
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["type"] for line in lines] == [
        p.event.value for p in recorder.payloads
    ]
    config = json.loads((run_dir / "config.json").read_text())
    assert config["lr"] == 0.1 and config["epochs"] == 3
    test = json.loads((run_dir / "test.json").read_text())
    assert test["n"] == 6 and np.asarray(test["confusion"]).sum() == 6
    # A checkpoint follows exactly those evaluations that beat every earlier one.
    best, expected = -1.0, []
    for ev in recorder.of(Event.EVALUATION_COMPLETED):
        if ev.val_acc > best:
            best = ev.val_acc
            expected.append(ev.epoch)
    assert [c.epoch for c in recorder.of(Event.CHECKPOINT_SAVED)] == expected
    for i, payload in enumerate(recorder.payloads):
        if payload.event is Event.CHECKPOINT_SAVED:
            assert recorder.payloads[i - 1].event is Event.EVALUATION_COMPLETED


def test_load_run_rebuilds_the_same_history_and_best_weights(tmp_path: Path) -> None:
    trainer = tiny_trainer(runs_dir=str(tmp_path), epochs=3, lr=0.1, embedding="pca")
    trainer.run()
    assert trainer.run_dir is not None
    loaded = load_run(trainer.run_dir, model=tiny_model(seed=5))
    live, back = trainer.history, loaded.history
    assert back.state == live.state == "completed"
    assert _same(back.started, live.started)
    assert len(back.steps) == len(live.steps) and all(
        _same(a, b) for a, b in zip(live.steps, back.steps, strict=True)
    )
    assert all(_same(a, b) for a, b in zip(live.evaluations, back.evaluations, strict=True))
    assert _same(back.final, live.final)
    assert loaded.class_names == CLASSES
    assert loaded.config == trainer.config
    assert loaded.test is not None and loaded.test["acc"] == live.final.test.acc  # type: ignore[union-attr]
    # A completed run ends on its best epoch's weights, which best.pt holds.
    assert loaded.model is not None
    for key, value in trainer.model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[key], value.cpu()), key
    assert loaded.checkpoint is not None and loaded.checkpoint["val_acc"] == live.best_val_acc


def test_a_stopped_run_keeps_what_it_had(tmp_path: Path) -> None:
    trainer = tiny_trainer(runs_dir=str(tmp_path), epochs=3)
    trainer.on(Event.STEP_COMPLETED, lambda s: trainer.stop() if s.global_step == 4 else None)
    trainer.run()
    assert trainer.run_dir is not None
    loaded = load_run(trainer.run_dir, model=tiny_model())
    assert loaded.history.state == "stopped"
    assert len(loaded.history.steps) == 4 and len(loaded.history.evaluations) == 1
    assert loaded.model is not None and loaded.checkpoint is not None
    assert loaded.checkpoint["epoch"] == 1
    assert loaded.test is None


def test_a_run_failing_before_any_epoch_has_metrics_but_no_model(tmp_path: Path) -> None:
    trainer = tiny_trainer(runs_dir=str(tmp_path))
    trainer.on(Event.STEP_COMPLETED, lambda s: 1 / 0)
    trainer.run()
    assert trainer.run_dir is not None
    loaded = load_run(trainer.run_dir, model=tiny_model())
    assert loaded.history.state == "failed"
    assert "ZeroDivisionError" in (loaded.history.error or "")
    assert loaded.model is None and loaded.checkpoint is None


def test_a_half_written_last_line_is_skipped(tmp_path: Path) -> None:
    trainer = tiny_trainer(runs_dir=str(tmp_path))
    trainer.run()
    assert trainer.run_dir is not None
    metrics = trainer.run_dir / "metrics.jsonl"
    with metrics.open("a") as file:
        file.write('{"type": "step_completed", "epoch": 3, "st')
    history = read_history(metrics)
    assert len(history.steps) == len(trainer.history.steps)
    assert list_runs(tmp_path) == [trainer.run_dir]


def test_load_run_refuses_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a run folder"):
        load_run(tmp_path)


def test_checkpoints_load_with_weights_only(tmp_path: Path) -> None:
    trainer = tiny_trainer(runs_dir=str(tmp_path))
    trainer.run()
    assert trainer.run_dir is not None
    checkpoint = load_checkpoint(trainer.run_dir / "best.pt")
    assert checkpoint["class_names"] == list(CLASSES)
    assert set(checkpoint["state_dict"]) == set(trainer.model.state_dict())
    torch.save({"something": "else"}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_export_state_dict_and_torchscript_give_the_same_answers(tmp_path: Path) -> None:
    trainer = tiny_trainer(lr=0.1, approach="scratch")
    trainer.run()
    inputs = torch.randn(5, 4)
    paths = export_model(
        trainer.model,
        tmp_path,
        class_names=CLASSES,
        example_input=inputs[:1],
        formats=("state_dict", "torchscript"),
    )
    trainer.model.cpu().eval()
    expected = trainer.model(inputs)
    saved = torch.load(paths["state_dict"], weights_only=True)
    assert saved["class_names"] == list(CLASSES)
    fresh = tiny_model(seed=7)
    fresh.load_state_dict(saved["state_dict"])
    fresh.eval()
    assert torch.allclose(fresh(inputs), expected)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # TorchScript is deprecated upstream
        scripted = torch.jit.load(paths["torchscript"])
    assert torch.allclose(scripted(inputs), expected, atol=1e-6)


def test_export_onnx_when_available(tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    trainer = tiny_trainer()
    paths = export_model(
        trainer.model,
        tmp_path,
        class_names=CLASSES,
        example_input=torch.randn(1, 4),
        formats=("onnx",),
    )
    assert paths["onnx"].stat().st_size > 0
