"""Several runs side by side: overlaid validation curves and a results table."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lab.core.training.history import RunHistory
from lab.plots._common import TraceData, base_layout, color

#: Columns of :func:`results_table`, in display order.
RESULT_COLUMNS = (
    "run",
    "data",
    "model",
    "approach",
    "epochs",
    "best val acc",
    "final val loss",
    "test acc",
    "state",
)


def compare_data(histories: Sequence[RunHistory]) -> list[TraceData]:
    """Two traces per run, in run order: validation loss, then validation accuracy."""
    data: list[TraceData] = []
    for history in histories:
        epochs = [e.epoch for e in history.evaluations]
        data.append({"x": epochs, "y": [e.val_loss for e in history.evaluations]})
        data.append({"x": epochs, "y": [e.val_acc for e in history.evaluations]})
    return data


def compare_figure(histories: Sequence[RunHistory], height: int = 340) -> go.Figure:
    """Validation loss (left) and accuracy (right) of each run, one colour per run."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Validation loss", "Validation accuracy"))
    data = compare_data(histories)
    for i, history in enumerate(histories):
        for col, props in ((1, data[2 * i]), (2, data[2 * i + 1])):
            fig.add_trace(
                go.Scatter(
                    name=history.name,
                    legendgroup=history.name,
                    showlegend=col == 1,
                    mode="lines+markers",
                    line={"color": color(i)},
                    **props,
                ),
                row=1,
                col=col,
            )
    fig.update_layout(**base_layout(height=height))
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(rangemode="tozero", row=1, col=1)
    fig.update_yaxes(range=[0, 1.02], row=1, col=2)
    return fig


def data_name(data: Any) -> str | None:
    """The data set a run trained on: its name, or the folder's name for a folder."""
    if not isinstance(data, dict):
        return None
    path = data.get("path")
    return f"folder {PurePath(path).name}" if path else data.get("name")


def results_table(histories: Sequence[RunHistory]) -> list[dict[str, Any]]:
    """One row per run with the columns in :data:`RESULT_COLUMNS` (``None`` when unknown)."""
    rows = []
    for history in histories:
        config = history.started.config if history.started else {}
        final = history.final
        test = getattr(final, "test", None)
        last = history.evaluations[-1] if history.evaluations else None
        rows.append(
            {
                "run": history.name,
                "data": data_name(config.get("data")),
                "model": config.get("model"),
                "approach": config.get("approach"),
                "epochs": last.epoch if last else 0,
                "best val acc": history.best_val_acc,
                "final val loss": last.val_loss if last else None,
                "test acc": test.acc if test is not None else None,
                "state": history.state,
            }
        )
    return rows
