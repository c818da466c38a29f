"""Run a config to the end without a notebook: progress on a terminal, a run folder on disk.

:func:`run_headless` is what ``transfer-lab train`` calls. On a terminal a tqdm bar
counts the steps; in a log (not a TTY) one line per epoch gives loss and accuracy.
SIGTERM (a scheduler ending the job) and Ctrl-C stop the run after the current step,
and the run folder is closed as "stopped" with the best checkpoint kept.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from typing import Any, TextIO

from tqdm import tqdm

from lab.core.training.engine import Trainer
from lab.core.training.events import (
    EvaluationCompleted,
    Payload,
    RunCompleted,
    RunFailed,
    RunStarted,
    RunStopped,
    StepCompleted,
)
from lab.core.training.history import RunHistory


class ProgressReporter:
    """Trainer event handler: a tqdm bar on a terminal, one line per epoch otherwise."""

    def __init__(self, stream: TextIO | None = None, tty: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self._bar: tqdm[Any] | None = None
        self._epochs = 0

    def __call__(self, payload: Payload) -> None:
        if isinstance(payload, RunStarted):
            self._started(payload)
        elif isinstance(payload, StepCompleted) and self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix(loss=f"{payload.loss:.4f}", refresh=False)
        elif isinstance(payload, EvaluationCompleted):
            self._evaluated(payload)
        elif isinstance(payload, RunCompleted | RunStopped | RunFailed):
            self.close()
            if isinstance(payload, RunStopped):
                self._line(f"stopped at epoch {payload.epoch}, step {payload.global_step}")

    def _started(self, payload: RunStarted) -> None:
        self._epochs = payload.total_epochs
        self._line(
            f"run {payload.run_id}: {payload.n_train} training / {payload.n_val} validation "
            f"images, {len(payload.class_names)} classes, on {payload.device}"
            + (f"; writing {payload.run_dir}" if payload.run_dir else "")
        )
        if self.tty:
            total = payload.steps_per_epoch * payload.total_epochs
            self._bar = tqdm(total=total, file=self.stream, unit="step", dynamic_ncols=True)

    def _evaluated(self, e: EvaluationCompleted) -> None:
        text = (
            f"epoch {e.epoch}/{self._epochs}: train_loss={e.train_loss:.4f} "
            f"train_acc={e.train_acc:.4f} val_loss={e.val_loss:.4f} val_acc={e.val_acc:.4f}"
        )
        self._line(text)

    def _line(self, text: str) -> None:
        if self._bar is not None:
            self._bar.write(text, file=self.stream)
        else:
            self.stream.write(text + "\n")  # one write: other ranks share the stream
            self.stream.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def run_headless(
    trainer: Trainer,
    reporter: Callable[[Payload], None] | None = None,
    poll_s: float = 0.2,
) -> RunHistory:
    """Run ``trainer`` to its end on this thread's watch; SIGTERM / Ctrl-C stop it cleanly.

    Call from the main thread (signal handlers can only be set there); from another
    thread the run simply goes without them.
    """
    if reporter is not None:
        trainer.on(None, reporter)
    previous = _install_stop_handlers(trainer)
    try:
        trainer.start()
        while True:
            try:
                if trainer.join(poll_s):
                    break
            except KeyboardInterrupt:
                trainer.stop()
    finally:
        _restore_handlers(previous)
    return trainer.history


def _install_stop_handlers(trainer: Trainer) -> dict[int, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}

    def stop(_signum: int, _frame: object) -> None:
        trainer.stop()

    return {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}


def _restore_handlers(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)
