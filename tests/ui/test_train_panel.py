"""The train panel's words for a run: progress, ETA and the state line."""

from __future__ import annotations

import numpy as np
import pytest

from lab.core.training.events import (
    EvaluationCompleted,
    RunCompleted,
    RunFailed,
    RunPaused,
    RunStarted,
    RunStopped,
    StepCompleted,
)
from lab.core.training.events import TestMetrics as Metrics  # not a test class
from lab.core.training.history import RunHistory
from lab.ui.train_panel import ETA_MIN_STEPS, format_eta, progress_text, status_detail


def _history(times: list[float], per_epoch: int = 6, total: int = 48) -> RunHistory:
    history = RunHistory()
    history.apply(
        RunStarted(
            run_id="r", config={}, class_names=("a", "b"), n_train=48, n_val=8,
            steps_per_epoch=per_epoch, total_epochs=total // per_epoch, device="cpu",
            run_dir=None, trainable_params=10, frozen_params=0,
        )
    )  # fmt: skip
    for i, elapsed in enumerate(times, start=1):
        epoch, step = divmod(i - 1, per_epoch)
        history.apply(
            StepCompleted(
                epoch=epoch + 1, step=step + 1, global_step=i, total_steps=total,
                loss=1.0, lr=1e-3, images_per_s=100.0, elapsed_s=elapsed,
            )
        )  # fmt: skip
    return history


def eta_of(history: RunHistory) -> str:
    return progress_text(history).split("ETA ")[1]


def test_eta_says_estimating_until_enough_steps():
    history = _history([0.5 * i for i in range(1, ETA_MIN_STEPS)])
    assert eta_of(history) == "estimating…"


def test_eta_ignores_a_slow_warm_up_and_stays_steady():
    # The first step takes 10 s (loading, caching); then each takes 1 s.
    times = [10.0 + i for i in range(24)]
    etas = []
    for n in range(ETA_MIN_STEPS + 4, 25, 2):
        history = _history(times[:n])
        minutes, seconds = eta_of(history).split(":")
        etas.append(int(minutes) * 60 + int(seconds))
    # 1 s per step left: the estimate falls by about 2 s per 2 steps, with no jump.
    assert all(abs((48 - n) - eta) <= 1 for n, eta in zip(range(14, 25, 2), etas, strict=True))
    assert all(later < earlier for earlier, later in zip(etas, etas[1:], strict=False))


def test_a_pause_names_the_same_step_as_the_progress_line():
    history = _history([0.1 * i for i in range(1, 9)])  # epoch 2, step 2 of it, step 8 in all
    history.apply(RunPaused(epoch=2, global_step=8))
    assert "step 8/48" in progress_text(history)
    assert "paused at epoch 2, step 8" in status_detail(history, preparing=False)


@pytest.mark.parametrize("seconds", [0, 0.4, 9.6, 59.5, 75.2, 3599, 3600, 4321.7, 90061])
def test_format_eta_reads_back_as_the_rounded_seconds(seconds: float) -> None:
    parts = [int(p) for p in format_eta(seconds).split(":")]
    assert len(parts) == (3 if round(seconds) >= 3600 else 2)  # hours only when needed
    assert all(p < 60 for p in parts[1:])
    assert all(len(p) == 2 for p in format_eta(seconds).split(":")[1:])  # zero-padded
    total = sum(p * 60**i for i, p in enumerate(reversed(parts)))
    assert total == round(seconds)


def test_format_eta_never_counts_below_zero() -> None:
    assert format_eta(-5) == format_eta(0)
    assert format_eta(0).startswith("0:")


def test_progress_text_before_the_first_step_and_after_the_run() -> None:
    idle = RunHistory()
    assert progress_text(idle) == ""
    waiting = _history([])
    assert waiting.state == "running" and "waiting" in progress_text(waiting)
    history = _history([0.5 * i for i in range(1, 13)])
    running = progress_text(history)
    assert "epoch 2/8 · step 12/48 · 100 images/s" in running
    assert "ETA —" not in running and "estimating" not in running
    history.apply(RunStopped(epoch=2, global_step=12, reason="stopped by user"))
    assert progress_text(history).endswith("ETA —")  # nothing left to wait for


def test_status_detail_says_what_each_state_means() -> None:
    idle = RunHistory()
    assert "press Start" in status_detail(idle, preparing=False)
    assert "loading" in status_detail(idle, preparing=True)  # preparing wins over the state
    history = _history([0.1 * i for i in range(1, 4)])
    running = status_detail(history, preparing=False)
    assert "48 images" in running and "10 trainable parameters" in running and "cpu" in running
    failed = _history([0.1, 0.2])
    failed.apply(RunFailed(epoch=1, global_step=2, message="boom", error_type="ValueError"))
    assert status_detail(failed, preparing=False) == "failed at epoch 1, step 2 (ValueError)"


def test_status_detail_of_a_stopped_and_a_completed_run() -> None:
    stopped = _history([0.1 * i for i in range(1, 8)])
    stopped.apply(RunStopped(epoch=2, global_step=7, reason="the kernel shut down"))
    text = status_detail(stopped, preparing=False)
    assert text.startswith("the kernel shut down at epoch 2, step 7") and "kept" in text
    completed = _history([0.1, 0.2])
    confusion = np.array([[3, 1], [0, 4]])
    completed.apply(
        EvaluationCompleted(
            epoch=1, global_step=2, train_loss=0.5, train_acc=0.5, val_loss=0.4, val_acc=0.875,
            confusion=confusion, precision=np.ones(2), recall=np.ones(2),
            val_predictions=np.zeros(8, dtype=int),
        )
    )  # fmt: skip
    test = Metrics(loss=0.3, acc=0.625, confusion=confusion, n=8)
    completed.apply(RunCompleted(epoch=1, global_step=2, best_val_acc=0.875, test=test))
    assert status_detail(completed, preparing=False) == (
        f"best validation accuracy {0.875:.1%}, test accuracy {0.625:.1%}"
    )
