"""The learning-rate finder's sweep: loss against a log-scaled learning rate."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from lab.plots._common import TraceData, base_layout, color


def lr_finder_data(
    lrs: Sequence[float], losses: Sequence[float], suggested: float | None
) -> list[TraceData]:
    """The sweep line, then the suggested learning rate as a single marker."""
    marker: TraceData = {"x": [], "y": []}
    if suggested is not None and len(lrs):
        nearest = min(range(len(lrs)), key=lambda i: abs(lrs[i] - suggested))
        marker = {"x": [suggested], "y": [losses[nearest]]}
    return [{"x": list(lrs), "y": list(losses)}, marker]


def lr_finder_figure(
    lrs: Sequence[float] = (),
    losses: Sequence[float] = (),
    suggested: float | None = None,
    height: int = 260,
) -> go.Figure:
    """Loss vs learning rate; pick an LR a little before the loss falls fastest."""
    sweep, marker = lr_finder_data(lrs, losses, suggested)
    fig = go.Figure(
        [
            go.Scatter(name="loss", mode="lines", line={"color": color(0)}, **sweep),
            go.Scatter(
                name="suggested",
                mode="markers",
                marker={"color": color(3), "size": 11, "symbol": "star"},
                **marker,
            ),
        ]
    )
    fig.update_layout(**base_layout(height=height, title="Learning-rate finder"))
    fig.update_xaxes(type="log", title_text="learning rate")
    fig.update_yaxes(title_text="loss")
    return fig
