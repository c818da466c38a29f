"""The probe's ranking beside what the catalog says about each model.

Three panels share one row per candidate, best at the top: probe accuracy on your data
(linear probe bars with their cross-validation spread, k-NN as a diamond), model size
in millions of parameters, and ImageNet top-1 accuracy. A high ImageNet score does not
guarantee the best features for your data: the panels side by side show when it does.
"""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lab.core.probe import ProbeReport, ProbeResult
from lab.plots._common import base_layout, color

_PRETRAINED, _RANDOM, _MISSING = color(0), color(7), "#cccccc"


def _note(result: ProbeResult) -> str:
    if result.status == "ok":
        return ""
    return "not available offline" if result.status == "unavailable" else "failed"


def _notes(fig: go.Figure, labels: list[str], texts: list[str], col: int) -> None:
    """Words beside an empty bar ("not available offline", "random init")."""
    fig.add_trace(
        go.Scatter(
            x=[0.0] * len(labels),
            y=labels,
            text=texts,
            mode="text",
            textposition="middle right",
            textfont={"color": "#666"},
            showlegend=False,
            hoverinfo="skip",
        ),
        row=1,
        col=col,
    )


def probe_figure(report: ProbeReport, height: int | None = None) -> go.Figure:
    """Ranking bars (probe accuracy), model size and ImageNet acc@1, one row per model."""
    rows = list(report.results)[::-1]  # plotly draws the first category at the bottom
    labels = [r.label for r in rows]
    fig = make_subplots(
        rows=1,
        cols=3,
        shared_yaxes=True,
        column_widths=[0.5, 0.25, 0.25],
        horizontal_spacing=0.03,
        subplot_titles=(
            f"Probe accuracy on your data ({report.n_per_class}/class)",
            "Size (M params)",
            "ImageNet acc@1 (%)",
        ),
    )
    linear = [r.scores.linear_acc if r.scores else 0.0 for r in rows]
    spread = [r.scores.linear_std if r.scores else 0.0 for r in rows]
    fig.add_trace(
        go.Bar(
            name="linear probe",
            x=linear,
            y=labels,
            orientation="h",
            error_x={"type": "data", "array": spread, "thickness": 1},
            marker_color=[_PRETRAINED if r.pretrained else _RANDOM for r in rows],
            text=[f"{v:.0%}" if r.scores else "" for v, r in zip(linear, rows, strict=True)],
            textposition="inside",
            insidetextanchor="start",
            hovertemplate="%{y}<br>linear probe %{x:.1%}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    missing = [r for r in rows if r.status != "ok"]
    _notes(fig, [r.label for r in missing], [_note(r) for r in missing], col=1)
    scored = [r for r in rows if r.scores]
    fig.add_trace(
        go.Scatter(
            name="k-NN",
            x=[r.scores.knn_acc for r in scored if r.scores],
            y=[r.label for r in scored],
            mode="markers",
            marker={"symbol": "diamond", "size": 10, "color": color(1)},
            hovertemplate="%{y}<br>k-NN %{x:.1%}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Bar(
            name="parameters",
            x=[(r.params or 0) / 1e6 for r in rows],
            y=labels,
            orientation="h",
            marker_color=[_MISSING if r.status != "ok" else color(4) for r in rows],
            showlegend=False,
            hovertemplate="%{y}<br>%{x:.1f} M parameters<extra></extra>",
        ),
        row=1,
        col=2,
    )
    fig.add_trace(
        go.Bar(
            name="ImageNet acc@1",
            x=[r.acc1 if r.acc1 is not None else 0.0 for r in rows],
            y=labels,
            orientation="h",
            marker_color=[_MISSING if r.status != "ok" else color(2) for r in rows],
            text=[f"{r.acc1:.1f}" if r.acc1 is not None else "" for r in rows],
            textposition="inside",
            showlegend=False,
            hovertemplate="%{y}<br>ImageNet acc@1 %{x:.1f}%<extra></extra>",
        ),
        row=1,
        col=3,
    )
    twins = [r.label for r in rows if r.acc1 is None and r.status == "ok"]
    _notes(fig, twins, ["random init"] * len(twins), col=3)
    fig.update_layout(
        **base_layout(height=height or 140 + 45 * len(rows), margin={"l": 10, "r": 10, "t": 50})
    )
    fig.update_xaxes(range=[0, 1.05], tickformat=".0%", row=1, col=1)
    fig.update_xaxes(range=[0, 100], row=1, col=3)
    fig.update_yaxes(automargin=True)
    return fig
