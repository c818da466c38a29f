"""Headless runs: progress output on a terminal and in a log, and stopping on SIGTERM."""

from __future__ import annotations

import io
import os
import signal

from lab.core.training.events import Event
from lab.core.training.headless import ProgressReporter, run_headless
from tests.core.tiny_runs import tiny_trainer


class Writes(io.StringIO):
    """A stream that keeps each ``write`` call, as unbuffered stderr would pass it on."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def write(self, text: str) -> int:
        self.calls.append(text)
        return super().write(text)


def test_a_log_gets_one_line_per_epoch():
    out = Writes()
    history = run_headless(tiny_trainer(epochs=3), ProgressReporter(out, tty=False))
    lines = out.getvalue().splitlines()
    # Whole lines per write, so that other processes' lines cannot land inside one.
    assert out.calls == [line + "\n" for line in lines]
    assert history.state == "completed"
    assert lines[0].startswith("run ") and "12 training / 9 validation images" in lines[0]
    epochs = [line for line in lines[1:] if line.startswith("epoch ")]
    assert len(epochs) == len(lines) - 1 == 3
    for line, e in zip(epochs, history.evaluations, strict=True):
        assert line.startswith(f"epoch {e.epoch}/3: train_loss={e.train_loss:.4f}")
        assert line.endswith(f"val_acc={e.val_acc:.4f}")


def test_a_terminal_gets_a_progress_bar_over_all_steps():
    out = io.StringIO()
    run_headless(tiny_trainer(epochs=2), ProgressReporter(out, tty=True))
    text = out.getvalue()
    assert "6/6" in text and "step" in text  # 3 steps per epoch, counted by tqdm
    assert text.count("epoch 1/2: ") == 1 and text.count("epoch 2/2: ") == 1


def test_sigterm_stops_the_run_after_the_current_step_and_keeps_what_it_had():
    trainer = tiny_trainer(epochs=500)
    fired = []

    def terminate_once(_payload: object) -> None:
        if not fired:  # as a scheduler would, from outside the run thread's control
            fired.append(True)
            os.kill(os.getpid(), signal.SIGTERM)

    trainer.on(Event.EVALUATION_COMPLETED, terminate_once)
    before = signal.getsignal(signal.SIGTERM)
    history = run_headless(trainer)
    assert history.state == "stopped" and 1 <= len(history.evaluations) < 500
    assert signal.getsignal(signal.SIGTERM) is before  # the handler is put back
