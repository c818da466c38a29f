"""The probe's ranking beside what the catalog says about each model.

Four panels share one row per candidate, best at the top: probe accuracy on your data
(linear probe bars, k-NN as a diamond, each with its interval, and the group of
candidates the sample cannot tell apart), LogME evidence with its interval, model size
in millions of parameters, and ImageNet top-1 accuracy. A high ImageNet score does not
guarantee the best features for your data: the panels side by side show when it does.
"""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lab.core.analysis.probe import ProbeReport, ProbeResult
from lab.core.analysis.probe_scores import SCORE_NAMES
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


def _errors(rows: list[ProbeResult], name: str) -> dict[str, object]:
    """Asymmetric error bars: each score's interval around its value."""
    values = [
        (r.scores.value(name), *r.scores.interval(name)) if r.scores else (0, 0, 0) for r in rows
    ]
    return {
        "type": "data",
        "symmetric": False,
        "array": [high - v for v, _, high in values],
        "arrayminus": [v - low for v, low, _ in values],
        "thickness": 1,
    }


def _markers(scored: list[ProbeResult], name: str, symbol: str, hue: str, fmt: str) -> go.Scatter:
    """One score as markers with its intervals, one per scored candidate."""
    return go.Scatter(
        name=SCORE_NAMES[name],
        x=[r.scores.value(name) for r in scored if r.scores],
        y=[r.label for r in scored],
        mode="markers",
        error_x=_errors(scored, name),
        marker={"symbol": symbol, "size": 10, "color": hue},
        hovertemplate=f"%{{y}}<br>{SCORE_NAMES[name]} %{{x:{fmt}}}<extra></extra>",
    )


def _group_labels(report: ProbeReport) -> dict[str, int]:
    return {r.label: i for i, g in enumerate(report.groups(), start=1) for r in g}


def _subplots(report: ProbeReport) -> go.Figure:
    return make_subplots(
        rows=1,
        cols=4,
        shared_yaxes=True,
        column_widths=[0.4, 0.2, 0.2, 0.2],
        horizontal_spacing=0.03,
        subplot_titles=(
            f"Probe accuracy on your data ({report.n_per_class}/class)",
            "LogME evidence",
            "Size (M params)",
            "ImageNet acc@1 (%)",
        ),
    )


def _linear_bars(rows: list[ProbeResult], group: dict[str, int]) -> go.Bar:
    """Linear probe accuracy per candidate, labelled with its group of look-alikes."""
    linear = [r.scores.linear_acc if r.scores else 0.0 for r in rows]
    return go.Bar(
        name="linear probe",
        x=linear,
        y=[r.label for r in rows],
        orientation="h",
        error_x=_errors(rows, "linear"),
        marker_color=[_PRETRAINED if r.pretrained else _RANDOM for r in rows],
        text=[
            f"{v:.0%} · group {group[r.label]}" if r.scores else ""
            for v, r in zip(linear, rows, strict=True)
        ],
        textposition="inside",
        insidetextanchor="start",
        hovertemplate="%{y}<br>linear probe %{x:.1%}<extra></extra>",
    )


def _size_bars(rows: list[ProbeResult]) -> go.Bar:
    return go.Bar(
        name="parameters",
        x=[(r.params or 0) / 1e6 for r in rows],
        y=[r.label for r in rows],
        orientation="h",
        marker_color=[_MISSING if r.status != "ok" else color(4) for r in rows],
        showlegend=False,
        hovertemplate="%{y}<br>%{x:.1f} M parameters<extra></extra>",
    )


def _imagenet_bars(rows: list[ProbeResult]) -> go.Bar:
    return go.Bar(
        name="ImageNet acc@1",
        x=[r.acc1 if r.acc1 is not None else 0.0 for r in rows],
        y=[r.label for r in rows],
        orientation="h",
        marker_color=[_MISSING if r.status != "ok" else color(2) for r in rows],
        text=[f"{r.acc1:.1f}" if r.acc1 is not None else "" for r in rows],
        textposition="inside",
        showlegend=False,
        hovertemplate="%{y}<br>ImageNet acc@1 %{x:.1f}%<extra></extra>",
    )


def probe_figure(report: ProbeReport, height: int | None = None) -> go.Figure:
    """Ranking bars (probe accuracy), model size and ImageNet acc@1, one row per model."""
    rows = list(report.results)[::-1]  # plotly draws the first category at the bottom
    fig = _subplots(report)
    fig.add_trace(_linear_bars(rows, _group_labels(report)), row=1, col=1)
    missing = [r for r in rows if r.status != "ok"]
    _notes(fig, [r.label for r in missing], [_note(r) for r in missing], col=1)
    scored = [r for r in rows if r.scores]
    fig.add_trace(_markers(scored, "knn", "diamond", color(1), ".1%"), row=1, col=1)
    fig.add_trace(_markers(scored, "logme", "circle", color(3), ".3f"), row=1, col=2)
    fig.add_trace(_size_bars(rows), row=1, col=3)
    fig.add_trace(_imagenet_bars(rows), row=1, col=4)
    twins = [r.label for r in rows if r.acc1 is None and r.status == "ok"]
    _notes(fig, twins, ["random init"] * len(twins), col=4)
    fig.update_layout(
        **base_layout(height=height or 140 + 45 * len(rows), margin={"l": 10, "r": 10, "t": 50})
    )
    fig.update_xaxes(range=[0, 1.05], tickformat=".0%", row=1, col=1)
    fig.update_xaxes(range=[0, 100], row=1, col=4)
    fig.update_layout(
        title={"text": f"ranked by {SCORE_NAMES[report.score]}", "font": {"size": 12}}
    )
    fig.update_yaxes(automargin=True)
    return fig
