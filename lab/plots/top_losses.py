"""Top losses: the validation items a model got most wrong (or most confidently right).

Like fastai's ``plot_top_losses``: mistakes ordered by their loss, captions with the
prediction, the true class and the probability the model gave its prediction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lab.core.training.events import EvaluationCompleted

#: What the gallery orders by: the worst mistakes, or the surest correct answers.
ORDERS = ("top_losses", "confident_correct")


@dataclass(frozen=True)
class RankedItem:
    """One validation item of the gallery, with its caption."""

    position: int
    true: int
    predicted: int
    probability: float | None
    loss: float | None

    def caption(self, names: tuple[str, ...]) -> str:
        """``pred/true/prob`` as fastai writes it, e.g. ``cat/dog/0.93``."""
        prob = "" if self.probability is None else f"/{self.probability:.2f}"
        return f"{names[self.predicted]}/{names[self.true]}{prob}"


def ranked_items(
    val_labels: np.ndarray,
    evaluation: EvaluationCompleted,
    order: str = "top_losses",
    cell: tuple[int, int] | None = None,
) -> list[RankedItem]:
    """Mistakes by loss (highest first), or correct items by confidence (``order``).

    With ``cell`` = (true, predicted) only that confusion cell's items, in the same
    order (a diagonal cell holds correct items). Runs saved without per-item losses keep
    split order.
    """
    if order not in ORDERS:
        raise ValueError(f"order={order!r}: choose one of {', '.join(ORDERS)}")
    labels = np.asarray(val_labels)
    preds = np.asarray(evaluation.val_predictions)
    if labels.shape != preds.shape:
        raise ValueError(f"val_labels: {labels.shape[0]} labels for {preds.shape[0]} predictions")
    if cell is not None:
        keep = (labels == cell[0]) & (preds == cell[1])
    elif order == "top_losses":
        keep = labels != preds
    else:
        keep = labels == preds
    positions = np.flatnonzero(keep)
    losses, conf = evaluation.val_losses, evaluation.val_confidence
    key = None
    if order == "top_losses" and losses is not None:
        key = -losses[positions]  # highest loss first
    elif order == "confident_correct" and conf is not None:
        key = -conf[positions]  # surest first
    if key is not None:
        positions = positions[np.argsort(key, kind="stable")]
    return [
        RankedItem(
            int(k),
            int(labels[k]),
            int(preds[k]),
            None if conf is None else float(conf[k]),
            None if losses is None else float(losses[k]),
        )
        for k in positions
    ]
