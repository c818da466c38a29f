"""Loss and accuracy curves of one run, train and validation, side by side.

The x axis is in epochs for every trace: a step at ``global_step`` sits at
``global_step / steps_per_epoch`` so per-step loss and per-epoch evaluations line up.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lab.core.training.history import RunHistory
from lab.plots._common import TraceData, base_layout, color, thin

#: Trace order of :func:`curves_figure`; :func:`curves_data` returns data in this order.
CURVE_TRACES = ("train loss (steps)", "train loss", "val loss", "train acc", "val acc")

#: Per-step points beyond this are thinned so each update message stays small.
MAX_STEP_POINTS = 1500


def curves_data(history: RunHistory | None) -> list[TraceData]:
    """x/y for each trace in :data:`CURVE_TRACES` (empty lists before anything happened)."""
    if history is None:
        return [{"x": [], "y": []} for _ in CURVE_TRACES]
    per_epoch = history.started.steps_per_epoch if history.started else 0
    steps = thin(history.steps, MAX_STEP_POINTS)
    step_x = [s.global_step / per_epoch if per_epoch else s.global_step for s in steps]
    evals = history.evaluations
    epochs = [e.epoch for e in evals]
    return [
        {"x": step_x, "y": [s.loss for s in steps]},
        {"x": epochs, "y": [e.train_loss for e in evals]},
        {"x": epochs, "y": [e.val_loss for e in evals]},
        {"x": epochs, "y": [e.train_acc for e in evals]},
        {"x": epochs, "y": [e.val_acc for e in evals]},
    ]


def curves_figure(history: RunHistory | None = None, height: int = 320) -> go.Figure:
    """Loss (left) and accuracy (right) against epochs; train dashed, validation solid."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Accuracy"))
    styles = [
        ({"color": color(0), "width": 1}, "lines", 1, 0.35),
        ({"color": color(0), "dash": "dash"}, "lines+markers", 1, 1.0),
        ({"color": color(1)}, "lines+markers", 1, 1.0),
        ({"color": color(0), "dash": "dash"}, "lines+markers", 2, 1.0),
        ({"color": color(1)}, "lines+markers", 2, 1.0),
    ]
    for name, data, (line, mode, col, opacity) in zip(
        CURVE_TRACES, curves_data(history), styles, strict=True
    ):
        trace = go.Scatter(name=name, mode=mode, line=line, opacity=opacity, **data)
        fig.add_trace(trace, row=1, col=col)
    fig.update_layout(**base_layout(height=height))
    fig.update_xaxes(title_text="epoch", rangemode="tozero")
    fig.update_yaxes(title_text="loss", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="accuracy", range=[0, 1.02], row=1, col=2)
    return fig


GREY = "#7f7f7f"


def unfreeze_marks(history: RunHistory | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Dotted vertical lines (and labels) where staged unfreezing let more groups train.

    Groups unfrozen at the start of epoch ``e`` train from x = e - 1 on, where that
    epoch's steps begin. Returns ``(shapes, annotations)`` for the two curve axes.
    """
    shapes: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    for mark in history.unfrozen if history is not None else []:
        x = mark.epoch - 1
        for axis in ("x", "x2"):
            y = "y" if axis == "x" else "y2"
            shapes.append(
                {
                    "type": "line", "x0": x, "x1": x, "xref": axis, "y0": 0, "y1": 1,
                    "yref": f"{y} domain", "line": {"dash": "dot", "width": 1.5, "color": GREY},
                    "name": "tl-unfreeze-mark",
                }
            )  # fmt: skip
        notes.append(
            {
                "x": x, "xref": "x", "y": 1, "yref": "y domain", "showarrow": False,
                "yanchor": "bottom", "xanchor": "left", "font": {"size": 10, "color": "#555555"},
                "text": f"unfrozen: {mark.trainable_groups} groups train",
                "name": "tl-unfreeze-note",
            }
        )  # fmt: skip
    return shapes, notes
