"""The train panel's words for a run: progress, ETA and the state line."""

from __future__ import annotations

from lab.core.events import RunPaused, RunStarted, StepCompleted
from lab.core.history import RunHistory
from lab.ui.train_panel import ETA_MIN_STEPS, progress_text, status_detail


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
