"""Faults on the run thread: each ends in exactly one terminal event, files stay whole.

A full disk is a patched writer (``lab.core.runs.atomic._write``) that writes part of a
chosen file, then raises ``ENOSPC`` for it from then on, as a filling disk does.
"""

from __future__ import annotations

import errno
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from lab.core.runs import atomic
from lab.core.runs.run_folder import read_run_folder
from lab.core.runs.saved import load_checkpoint, load_run
from lab.core.training.engine import Trainer
from lab.core.training.events import Event
from lab.core.training.training_loop import TrainingLoop
from tests.core.serving.test_shutdown import start_child
from tests.core.tiny_runs import Recorder, tiny_trainer

TERMINAL = (Event.RUN_COMPLETED, Event.RUN_STOPPED, Event.RUN_FAILED)


class FullDisk:
    """Fails writes to files named ``name`` once ``allow`` of them went through."""

    def __init__(self, name: str, allow: int = 0) -> None:
        self.name, self.allow, self.failed = name, allow, 0
        self._real = os.write

    def __call__(self, fd: int, data: Any) -> int:
        if Path(os.readlink(f"/proc/self/fd/{fd}")).name != self.name:
            return self._real(fd, data)
        if self.allow > 0:
            self.allow -= 1
            return self._real(fd, data)
        self.failed += 1
        if self.failed == 1 and len(data) > 1:  # a filling disk takes part of the write
            return self._real(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, "No space left on device")


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> Callable[..., FullDisk]:
    def fill(name: str, allow: int = 0) -> FullDisk:
        disk = FullDisk(name, allow)
        monkeypatch.setattr(atomic, "_write", disk)
        return disk

    return fill


def run_to_end(trainer: Trainer) -> Recorder:
    recorder = Recorder(trainer)
    trainer.start()
    assert trainer.join(timeout=60), "the run did not end"
    return recorder


def only_terminal(recorder: Recorder) -> Any:
    finals = [p for p in recorder.payloads if p.event in TERMINAL]
    assert len(finals) == 1, [p.event for p in finals]
    return finals[0]


def no_temporaries(folder: Path) -> None:
    assert not [p.name for p in folder.rglob("*.tmp")], "a partial file was left behind"


def trainer_in(tmp_path: Path, **changes: Any) -> Trainer:
    trainer = tiny_trainer(runs_dir=str(tmp_path / "runs"), **changes)
    (tmp_path / "runs" / trainer.run_id).mkdir(parents=True)
    return trainer


def test_full_disk_writing_config_fails_the_run_with_its_words(
    tmp_path: Path, full_disk: Callable[..., FullDisk]
) -> None:
    full_disk("config.json.tmp")
    trainer = trainer_in(tmp_path)
    final = only_terminal(run_to_end(trainer))
    assert final.event is Event.RUN_FAILED and trainer.state == "failed"
    assert "disk is full" in final.message and "config.json" in final.message
    assert "needed" in final.message and "free" in final.message
    no_temporaries(tmp_path)
    assert not (tmp_path / "runs" / trainer.run_id / "config.json").exists()


def test_full_disk_appending_metrics_keeps_every_whole_line(
    tmp_path: Path, full_disk: Callable[..., FullDisk]
) -> None:
    full_disk("metrics.jsonl", allow=8)  # epoch 1 and its checkpoint, then the disk fills
    trainer = trainer_in(tmp_path, epochs=3)
    final = only_terminal(run_to_end(trainer))
    assert final.event is Event.RUN_FAILED and trainer.state == "failed"
    assert "disk is full" in final.message and "metrics.jsonl" in final.message
    run = load_run(trainer.run_dir or "", model=tiny_trainer().model)
    assert run.problems == [], "a half line was left in metrics.jsonl"
    assert run.interrupted and len(run.history.evaluations) == 1
    assert run.checkpoint is not None and run.model is not None
    no_temporaries(tmp_path)


def test_full_disk_writing_the_checkpoint_keeps_the_previous_one(
    tmp_path: Path, full_disk: Callable[..., FullDisk]
) -> None:
    trainer = trainer_in(tmp_path)
    best = tmp_path / "runs" / trainer.run_id / "best.pt"
    torch.save({"state_dict": {}, "class_names": ["a"], "previous": True}, best)
    before = best.read_bytes()
    full_disk("best.pt.tmp")
    final = only_terminal(run_to_end(trainer))
    assert final.event is Event.RUN_FAILED
    assert "disk is full" in final.message and "best.pt" in final.message
    assert "MB" in final.message or "bytes" in final.message, "say how much was needed"
    assert "enforce fail" not in final.message
    assert best.read_bytes() == before and load_checkpoint(best)["previous"]
    no_temporaries(tmp_path)


def test_full_disk_writing_test_results_fails_instead_of_completing(
    tmp_path: Path, full_disk: Callable[..., FullDisk]
) -> None:
    full_disk("test.json.tmp")
    trainer = trainer_in(tmp_path)
    final = only_terminal(run_to_end(trainer))
    assert final.event is Event.RUN_FAILED and "test.json" in final.message
    folder = read_run_folder(trainer.run_dir or "")
    assert folder.history.state == "failed" and folder.test is None
    assert folder.checkpoint is not None
    no_temporaries(tmp_path)


def test_full_disk_writing_the_last_line_still_ends_the_run_once(
    tmp_path: Path, full_disk: Callable[..., FullDisk]
) -> None:
    probe = trainer_in(tmp_path)
    run_to_end(probe)
    lines = len((probe.run_dir or Path()).joinpath("metrics.jsonl").read_text().splitlines())
    full_disk("metrics.jsonl", allow=lines - 1)  # every line but run_completed
    trainer = trainer_in(tmp_path)
    final = only_terminal(run_to_end(trainer))
    assert final.event is Event.RUN_FAILED and "metrics.jsonl" in final.message
    assert load_run(trainer.run_dir or "", build=False).interrupted


def test_full_disk_on_export_keeps_the_previous_export(
    tmp_path: Path, full_disk: Callable[..., FullDisk]
) -> None:
    trainer = tiny_trainer()
    run_to_end(trainer)
    out = tmp_path / "export"
    trainer.export(out, formats=["state_dict"])
    before = (out / "model_state.pt").read_bytes()
    full_disk("model_state.pt.tmp")
    with pytest.raises(atomic.DiskFull, match=r"disk is full.*model_state\.pt.*needed"):
        trainer.export(out, formats=["state_dict"])
    assert (out / "model_state.pt").read_bytes() == before
    no_temporaries(out)


def test_a_failing_handler_ends_the_run_once() -> None:
    trainer = tiny_trainer()

    def broken(_payload: Any) -> None:
        raise KeyError("view gone")

    trainer.on(Event.EVALUATION_COMPLETED, broken)
    final = only_terminal(run_to_end(trainer))
    assert final.event is Event.RUN_FAILED and "KeyError" in final.message


def test_a_handler_failing_on_the_final_event_does_not_add_another() -> None:
    trainer = tiny_trainer()

    def broken(_payload: Any) -> None:
        raise RuntimeError("view gone")

    trainer.on(Event.RUN_COMPLETED, broken)
    final = only_terminal(run_to_end(trainer))
    assert final.event is Event.RUN_COMPLETED and trainer.state == "completed"


def test_a_failing_evaluation_ends_the_run_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: TrainingLoop) -> Any:
        raise RuntimeError("evaluation broke")

    monkeypatch.setattr(TrainingLoop, "evaluate_val", broken)
    trainer = trainer_in(tmp_path)
    final = only_terminal(run_to_end(trainer))
    assert final.event is Event.RUN_FAILED and "evaluation broke" in final.message
    assert load_run(trainer.run_dir or "", build=False).history.state == "failed"


def wait_for(path: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} was never written"
        time.sleep(0.02)


@pytest.mark.timeout(60)
def test_sigkill_mid_run_reloads_as_interrupted_with_its_best(tmp_path: Path) -> None:
    child = start_child(tmp_path)
    (folder,) = (tmp_path / "runs").iterdir()
    wait_for(folder / "best.pt")
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)
    run = load_run(folder, build=False)
    assert run.interrupted and run.history.state == "interrupted"
    assert run.history.evaluations and run.checkpoint is not None


@pytest.mark.timeout(60)
def test_sigint_mid_run_stops_and_saves_the_run(tmp_path: Path) -> None:
    child = start_child(tmp_path)
    wait_for(next((tmp_path / "runs").iterdir()) / "best.pt")
    child.send_signal(signal.SIGINT)
    child.communicate(timeout=30)
    (folder,) = (tmp_path / "runs").iterdir()
    run = load_run(folder, build=False)
    assert run.history.state == "stopped" and run.checkpoint is not None
