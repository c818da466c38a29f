"""Scatter of the 2-D feature embedding of validation images, one trace per true class.

Misclassified points are drawn as crosses. The projection is fitted once per run,
so the same axes hold across epochs and the clusters can be compared as they form.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from lab.core.training.history import RunHistory
from lab.plots._common import TraceData, base_layout, color
from lab.plots.confusion import evaluation_at


def embedding_data(
    history: RunHistory | None, epoch: int | None = None, n_classes: int | None = None
) -> list[TraceData]:
    """Per class: x, y, marker symbols and ``customdata`` (validation positions)."""
    names = history.class_names if history else ()
    n = n_classes if n_classes is not None else len(names)
    evaluation = evaluation_at(history, epoch) if history else None
    embedding = evaluation.embedding if evaluation else None
    empty: list[TraceData] = [
        {"x": [], "y": [], "customdata": [], "marker": {"symbol": []}} for _ in range(n)
    ]
    if embedding is None:
        return empty
    points = np.asarray(embedding.points, dtype=float)
    labels, preds = np.asarray(embedding.labels), np.asarray(embedding.predictions)
    for k in range(n):
        mask = labels == k
        symbols = np.where(preds[mask] == k, "circle", "x").tolist()
        empty[k] = {
            "x": points[mask, 0].tolist(),
            "y": points[mask, 1].tolist(),
            "customdata": np.asarray(embedding.indices)[mask].tolist(),
            "marker": {"symbol": symbols},
        }
    return empty


def embedding_figure(
    history: RunHistory | None = None, epoch: int | None = None, height: int = 360
) -> go.Figure:
    """Embedding scatter coloured by true class (crosses: misclassified)."""
    names = history.class_names if history else ()
    fig = go.Figure()
    for k, data in enumerate(embedding_data(history, epoch)):
        fig.add_trace(
            go.Scatter(
                name=names[k],
                mode="markers",
                marker={"color": color(k), "size": 7, "opacity": 0.8, **data.pop("marker")},
                hovertemplate=f"true {names[k]}<br>item %{{customdata}}<extra></extra>",
                **data,
            )
        )
    evaluation = evaluation_at(history, epoch) if history else None
    method = evaluation.embedding.method if evaluation and evaluation.embedding else ""
    title = f"Feature embedding ({method.upper()})" if method else "Feature embedding"
    fig.update_layout(**base_layout(height=height, title=title))
    fig.update_xaxes(showticklabels=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, zeroline=False)
    return fig
