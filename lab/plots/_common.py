"""Helpers shared by the plot functions: trace data and in-place updates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

#: One trace's updatable properties, e.g. ``{"x": [...], "y": [...]}``.
TraceData = dict[str, Any]

#: A qualitative palette long enough for most data sets; classes wrap around after it.
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)

TEMPLATE = "plotly_white"


def color(i: int) -> str:
    """Colour for class or run ``i``."""
    return PALETTE[i % len(PALETTE)]


def apply_trace_data(fig: go.Figure, data: Sequence[TraceData]) -> None:
    """Assign ``data[i]`` to ``fig.data[i]`` in place (call inside ``fig.batch_update()``).

    The figure must have been built by the matching ``*_figure`` function so the
    traces line up; properties are set one by one so a widget sends only deltas.
    """
    if len(data) != len(fig.data):
        raise ValueError(
            f"data has {len(data)} traces but the figure has {len(fig.data)}: "
            "build the figure with the plot function that matches this data"
        )
    for trace, props in zip(fig.data, data, strict=True):
        trace.update(props)


def thin(values: Sequence[Any], max_points: int) -> list[Any]:
    """Every k-th value (always keeping the last) so at most ``max_points`` remain."""
    n = len(values)
    if n <= max_points:
        return list(values)
    stride = -(-n // max_points)  # ceil division: the stride that fits
    kept = list(values[::stride])
    if (n - 1) % stride:
        kept.append(values[-1])
    return kept


def base_layout(**overrides: Any) -> dict[str, Any]:
    """Compact layout shared by every figure in the lab."""
    layout: dict[str, Any] = {
        "template": TEMPLATE,
        "margin": {"l": 50, "r": 20, "t": 40, "b": 45},
        "height": 320,
        "legend": {"orientation": "h", "y": -0.2},
    }
    layout.update(overrides)
    return layout
