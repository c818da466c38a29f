"""The payloads a run reports, built from what the training loop measured.

The engine decides *when* each event fires; this module decides *what* it says, so an
event's fields are filled in one place.
"""

from __future__ import annotations

from typing import Any

from lab.core.models.finetune import summarize
from lab.core.training.config import RunConfig
from lab.core.training.evaluation import EvalResult
from lab.core.training.events import (
    Embedding,
    EvaluationCompleted,
    RunCompleted,
    RunFailed,
    RunStarted,
    TestMetrics,
    readonly,
)
from lab.core.training.failures import FailureContext, describe_failure
from lab.core.training.parts import TrainingParts
from lab.core.training.training_loop import EpochStats, TrainingLoop


def run_started(
    run_id: str,
    config: RunConfig,
    parts: TrainingParts,
    steps_per_epoch: int,
    device: str,
    run_dir: str | None,
) -> RunStarted:
    """The run's first event: its settings, data sizes and trainable parameters."""
    summary = summarize(parts.groups)
    return RunStarted(
        run_id=run_id,
        config=config.to_dict(),
        class_names=parts.class_names,
        n_train=parts.n_train,
        n_val=parts.n_val,
        steps_per_epoch=steps_per_epoch,
        total_epochs=config.epochs,
        device=device,
        run_dir=run_dir,
        trainable_params=summary.trainable_params,
        frozen_params=summary.frozen_params,
    )


def evaluation_completed(
    epoch: int,
    global_step: int,
    stats: EpochStats,
    result: EvalResult,
    embedding: Embedding | None,
) -> EvaluationCompleted:
    """An epoch's training figures beside its validation pass (arrays made read-only)."""
    return EvaluationCompleted(
        epoch=epoch,
        global_step=global_step,
        train_loss=stats.loss,
        train_acc=stats.acc,
        val_loss=result.loss,
        val_acc=result.acc,
        confusion=readonly(result.confusion),
        precision=readonly(result.precision),
        recall=readonly(result.recall),
        val_predictions=readonly(result.predictions),
        embedding=embedding,
        val_losses=_readonly_or_none(result.sample_losses),
        val_confidence=_readonly_or_none(result.confidence),
    )


def run_completed(
    epochs: int, global_step: int, best_val_acc: float, test: EvalResult | None
) -> RunCompleted:
    """The run's last event: the best validation accuracy and the test split's metrics."""
    return RunCompleted(
        epoch=epochs,
        global_step=global_step,
        best_val_acc=best_val_acc,
        test=None
        if test is None
        else TestMetrics(test.loss, test.acc, readonly(test.confusion), test.n),
    )


def run_failed(
    error: BaseException, loop: TrainingLoop | None, config: RunConfig, device: str
) -> RunFailed:
    """RUN_FAILED with a readable message: the cause, where the run was, the way out."""
    context = FailureContext(
        epoch=loop.epoch if loop else 0,
        step=loop.step if loop else 0,
        lr=loop.lr if loop else config.lr,
        optimizer=config.optimizer,
        batch_size=config.batch_size,
        device=device,
    )
    epoch, global_step = (loop.epoch, loop.global_step) if loop else (0, 0)
    return RunFailed(epoch, global_step, describe_failure(error, context), type(error).__name__)


def _readonly_or_none(values: Any) -> Any:
    return None if values is None else readonly(values)
