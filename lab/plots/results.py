"""All live results of a run in one figure: loss, accuracy, confusion matrix, embedding.

One figure instead of four keeps a browser page light (each live plotly widget ships
its own copy of plotly.js) and lets one update message carry every change of a batch.
Trace order: the five curves of :data:`~lab.plots.curves.CURVE_TRACES`, the confusion
heatmap (index :data:`CONFUSION_TRACE`), then one embedding trace per class.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lab.core.training.history import RunHistory
from lab.plots._common import TraceData, base_layout
from lab.plots.confusion import confusion_data, confusion_figure, evaluation_at
from lab.plots.curves import CURVE_TRACES, curves_data, curves_figure
from lab.plots.embedding import embedding_data, embedding_figure

#: Index of the confusion heatmap among the figure's traces.
CONFUSION_TRACE = len(CURVE_TRACES)
#: Index of the first embedding trace (one per class follow).
EMBEDDING_TRACES = CONFUSION_TRACE + 1
#: Subplot title annotations, in order.
TITLES = ("Loss", "Accuracy", "Confusion matrix", "Feature embedding")


def results_titles(history: RunHistory | None, epoch: int | None = None) -> list[str]:
    """Subplot titles naming the epoch shown and the embedding's projection."""
    evaluation = evaluation_at(history, epoch) if history else None
    if evaluation is None:
        return list(TITLES)
    method = evaluation.embedding.method.upper() if evaluation.embedding else "off"
    return [
        "Loss",
        "Accuracy",
        f"Confusion matrix, epoch {evaluation.epoch}",
        f"Feature embedding ({method}), epoch {evaluation.epoch}",
    ]


def results_data(
    history: RunHistory | None, epoch: int | None = None, normalize: bool = False
) -> list[TraceData]:
    """Data of every trace of :func:`results_figure`, in its trace order."""
    return [
        *curves_data(history),
        *confusion_data(history, epoch, normalize),
        *embedding_data(history, epoch),
    ]


def embedding_traces(history: RunHistory | None, epoch: int | None = None) -> list[Any]:
    """The per-class embedding traces, styled, for a new run's class list."""
    traces = list(embedding_figure(history, epoch).data)
    for trace in traces:
        trace.update(legend="legend2")
    return traces


def results_figure(
    history: RunHistory | None = None,
    epoch: int | None = None,
    normalize: bool = False,
    height: int = 760,
) -> go.Figure:
    """Loss and accuracy (top), confusion matrix and embedding (bottom) of one run."""
    fig = make_subplots(
        rows=2,
        cols=2,
        subplot_titles=results_titles(history, epoch),
        vertical_spacing=0.16,
        horizontal_spacing=0.12,
    )
    for trace in curves_figure(history).data:
        fig.add_trace(trace, row=1, col=1 if "loss" in trace.name else 2)
    fig.add_trace(confusion_figure(history, epoch, normalize).data[0], row=2, col=1)
    for trace in embedding_traces(history, epoch):
        fig.add_trace(trace, row=2, col=2)
    fig.update_layout(
        **base_layout(
            height=height,
            margin={"l": 60, "r": 20, "t": 40, "b": 40},
            legend={"orientation": "h", "x": 0, "y": 1.08},
        ),
        legend2={"x": 1.0, "y": 0.0, "yanchor": "bottom", "title": {"text": "class"}},
    )
    fig.update_xaxes(title_text="epoch", rangemode="tozero", row=1)
    fig.update_yaxes(title_text="loss", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="accuracy", range=[0, 1.02], row=1, col=2)
    fig.update_xaxes(title_text="predicted", type="category", row=2, col=1)
    fig.update_yaxes(title_text="true", type="category", autorange="reversed", row=2, col=1)
    fig.update_xaxes(showticklabels=False, zeroline=False, row=2, col=2)
    fig.update_yaxes(showticklabels=False, zeroline=False, row=2, col=2)
    return fig
