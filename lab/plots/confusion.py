"""Confusion-matrix heatmap of one evaluation: rows are true classes, columns predictions."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from lab.core.training.events import EvaluationCompleted
from lab.core.training.history import RunHistory
from lab.plots._common import TraceData, base_layout


def evaluation_at(history: RunHistory, epoch: int | None = None) -> EvaluationCompleted | None:
    """The evaluation of ``epoch`` (the latest when ``None``), or ``None`` if there is none."""
    if not history.evaluations:
        return None
    if epoch is None:
        return history.evaluations[-1]
    for evaluation in history.evaluations:
        if evaluation.epoch == epoch:
            return evaluation
    return None


def confusion_data(
    history: RunHistory | None, epoch: int | None = None, normalize: bool = False
) -> list[TraceData]:
    """Heatmap data for the evaluation of ``epoch``; with ``normalize`` rows sum to 1."""
    names = list(history.class_names) if history else []
    evaluation = evaluation_at(history, epoch) if history else None
    if evaluation is None:
        n = len(names)
        counts = np.zeros((n, n), dtype=int)
    else:
        counts = np.asarray(evaluation.confusion, dtype=int)
    if not names:
        names = [str(i) for i in range(counts.shape[0])]
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    z = shares if normalize else counts
    text = [
        [f"{c}<br>{s:.0%}" if normalize else str(c) for c, s in zip(rc, rs, strict=True)]
        for rc, rs in zip(counts.tolist(), shares.tolist(), strict=True)
    ]
    return [{"z": z.tolist(), "x": names, "y": names, "text": text}]


def confusion_figure(
    history: RunHistory | None = None,
    epoch: int | None = None,
    normalize: bool = False,
    height: int = 360,
) -> go.Figure:
    """Heatmap of true (rows) vs predicted (columns) counts; click a cell to see its images."""
    (data,) = confusion_data(history, epoch, normalize)
    heatmap = go.Heatmap(
        colorscale="Blues",
        texttemplate="%{text}",
        hovertemplate="true %{y}<br>predicted %{x}<br>%{text}<extra></extra>",
        showscale=False,
        xgap=1,
        ygap=1,
        **data,
    )
    fig = go.Figure(heatmap)
    fig.update_layout(**base_layout(height=height, title="Confusion matrix"))
    fig.update_xaxes(title_text="predicted", side="bottom", type="category")
    fig.update_yaxes(title_text="true", autorange="reversed", type="category")
    return fig


def cell_indices(
    val_labels: np.ndarray, evaluation: EvaluationCompleted, true: int, predicted: int
) -> np.ndarray:
    """Validation positions in cell (``true``, ``predicted``) given the split's true labels."""
    labels, preds = _labels_and_predictions(val_labels, evaluation)
    return np.flatnonzero((labels == true) & (preds == predicted))


def misclassified_indices(val_labels: np.ndarray, evaluation: EvaluationCompleted) -> np.ndarray:
    """Validation positions the evaluation got wrong, in split order."""
    labels, preds = _labels_and_predictions(val_labels, evaluation)
    return np.flatnonzero(labels != preds)


def _labels_and_predictions(
    val_labels: np.ndarray, evaluation: EvaluationCompleted
) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(val_labels)
    preds = np.asarray(evaluation.val_predictions)
    if labels.shape != preds.shape:
        raise ValueError(
            f"val_labels has {labels.shape[0]} items but the evaluation predicted "
            f"{preds.shape[0]}: pass the labels of the same validation split"
        )
    return labels, preds
