"""Top-k predictions for one image as a horizontal bar chart."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from lab.plots._common import TraceData, base_layout, color


def topk_data(labels: Sequence[str], probabilities: Sequence[float]) -> list[TraceData]:
    """Bars with the most likely class on top."""
    return [{"x": list(probabilities)[::-1], "y": list(labels)[::-1]}]


def topk_figure(
    labels: Sequence[str] = (), probabilities: Sequence[float] = (), height: int = 240
) -> go.Figure:
    """Probability of each of the top-k classes."""
    (data,) = topk_data(labels, probabilities)
    fig = go.Figure(
        go.Bar(
            orientation="h",
            marker={"color": color(0)},
            texttemplate="%{x:.1%}",
            hovertemplate="%{y}: %{x:.2%}<extra></extra>",
            **data,
        )
    )
    fig.update_layout(**base_layout(height=height, title="Top predictions"))
    fig.update_xaxes(range=[0, 1], tickformat=".0%")
    return fig
