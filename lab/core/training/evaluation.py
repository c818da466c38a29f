"""Loss, accuracy, confusion matrix and per-class precision/recall over a split."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lab.core.hardware.device import DeviceSetup
from lab.core.training.cached_features import FeatureCapture


@dataclass(frozen=True)
class EvalResult:
    """Everything one pass over a split yields."""

    loss: float
    acc: float
    confusion: np.ndarray  # [true, predicted] counts
    precision: np.ndarray
    recall: np.ndarray
    predictions: np.ndarray
    labels: np.ndarray
    features: np.ndarray | None  # penultimate features of the kept positions, if asked
    sample_losses: np.ndarray | None = None  # (n,) cross-entropy of each item
    confidence: np.ndarray | None = None  # (n,) probability of the predicted class

    @property
    def n(self) -> int:
        return int(self.labels.shape[0])

    @classmethod
    def of(
        cls,
        labels: np.ndarray,
        predictions: np.ndarray,
        loss: float,
        n_classes: int,
        features: np.ndarray | None = None,
    ) -> EvalResult:
        """The result of a pass that predicted ``predictions`` for ``labels``."""
        confusion = confusion_matrix(labels, predictions, n_classes)
        precision, recall = precision_recall(confusion)
        return cls(
            loss=loss,
            acc=float((predictions == labels).mean()) if len(labels) else 0.0,
            confusion=confusion,
            precision=precision,
            recall=recall,
            predictions=predictions,
            labels=labels,
            features=features,
        )


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, n_classes: int) -> np.ndarray:
    """``out[i, j]``: how many items of true class ``i`` were predicted as ``j``."""
    flat = labels.astype(np.int64) * n_classes + predictions.astype(np.int64)
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def precision_recall(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-class precision (by predicted column) and recall (by true row); 0 where undefined."""
    hits = np.diag(confusion).astype(np.float64)
    predicted, actual = confusion.sum(axis=0), confusion.sum(axis=1)
    precision = np.divide(hits, predicted, out=np.zeros_like(hits), where=predicted > 0)
    recall = np.divide(hits, actual, out=np.zeros_like(hits), where=actual > 0)
    return precision, recall


@torch.no_grad()
def evaluate(
    module: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
    n_classes: int,
    setup: DeviceSetup,
    *,
    between_batches: Callable[[], None] = lambda: None,
    lock: AbstractContextManager[Any] | None = None,
    capture: nn.Module | None = None,
    keep: np.ndarray | None = None,
) -> EvalResult:
    """Run ``module`` in eval mode over ``(positions, inputs, labels)`` batches.

    ``between_batches`` is the run's stop/pause point and ``lock`` is held around
    each batch (the run's model lock). With ``capture`` (the head)
    and ``keep`` (sorted positions), the head's input features at those positions are
    returned in ``keep`` order.
    """
    tally = _Tally(keep)
    was_training = module.training
    module.eval()
    hook = FeatureCapture(capture) if capture is not None else None
    try:
        for positions, inputs, targets in batches:
            between_batches()
            with lock or contextlib.nullcontext(), setup.autocast():
                logits = module(inputs.to(setup.device, non_blocking=True)).float()
            tally.add(positions, logits, targets.to(logits.device), hook)
    finally:
        module.train(was_training)
        if hook is not None:
            hook.remove()
    return tally.result(n_classes, features=hook is not None)


class _Tally:
    """What :func:`evaluate` gathers batch by batch, on the device until the end."""

    def __init__(self, keep: np.ndarray | None) -> None:
        self.losses: list[torch.Tensor] = []
        self.per_item: list[torch.Tensor] = []
        self.confidence: list[torch.Tensor] = []
        self.predictions: list[torch.Tensor] = []
        self.labels: list[torch.Tensor] = []
        self.kept: list[torch.Tensor] = []
        self.keep_mask = None if keep is None else torch.as_tensor(keep)

    def add(
        self,
        positions: torch.Tensor,
        logits: torch.Tensor,
        targets: torch.Tensor,
        hook: FeatureCapture | None,
    ) -> None:
        item_losses = F.cross_entropy(logits, targets, reduction="none")
        self.losses.append(item_losses.sum())
        self.per_item.append(item_losses)
        top = logits.softmax(dim=1).max(dim=1)
        self.confidence.append(top.values)
        self.predictions.append(top.indices)
        self.labels.append(targets)
        if hook is not None and hook.features is not None and self.keep_mask is not None:
            rows = torch.isin(positions, self.keep_mask)
            self.kept.append(hook.features[rows.to(hook.features.device)].float().cpu())

    def result(self, n_classes: int, features: bool) -> EvalResult:
        kept = self.kept if features else None
        result = _result(self.losses, self.predictions, self.labels, kept, n_classes)
        if not self.per_item:
            return result
        return dataclasses.replace(
            result,
            sample_losses=torch.cat(self.per_item).cpu().numpy(),
            confidence=torch.cat(self.confidence).cpu().numpy(),
        )


def _result(
    losses: list[torch.Tensor],
    predictions: list[torch.Tensor],
    labels: list[torch.Tensor],
    kept: list[torch.Tensor] | None,
    n_classes: int,
) -> EvalResult:
    # One transfer to the host at the end instead of a sync per batch.
    y = torch.cat(labels).cpu().numpy() if labels else np.zeros(0, dtype=np.int64)
    pred = torch.cat(predictions).cpu().numpy() if predictions else np.zeros(0, dtype=np.int64)
    n = max(len(y), 1)
    loss = float(torch.stack(losses).sum().item()) / n if losses else float("nan")
    features = torch.cat(kept).numpy() if kept else None
    return EvalResult.of(y, pred, loss, n_classes, features)
