"""The data-efficiency curve: test accuracy against labelled images per class.

Per arm three traces, in this order: the spread band (mean ± one standard deviation
over seeds), the mean line, and each seed's run as a faint dot. The x axis is
logarithmic so that 5, 10, 25, 50, 100 images per class sit evenly.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from lab.core.analysis.efficiency import ARMS, EfficiencyResult
from lab.plots._common import TraceData, base_layout, color

#: How each arm is named on the plot.
ARM_LABELS = {
    "feature_extraction": "pretrained, feature extraction",
    "scratch": "from scratch",
    "fine_tuning": "pretrained, fine-tuning",
}
_ARM_COLORS = {"feature_extraction": color(0), "scratch": color(3), "fine_tuning": color(2)}
TRACES_PER_ARM = 3


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _arms(result: EfficiencyResult | None, arms: Sequence[str] | None) -> tuple[str, ...]:
    if arms is None:
        arms = result.spec.arms if result is not None else ARMS[:2]
    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        raise ValueError(f"arms: {unknown} not among {', '.join(ARMS)}")
    return tuple(arms)


def efficiency_data(
    result: EfficiencyResult | None, arms: Sequence[str] | None = None
) -> list[TraceData]:
    """x/y of every trace of :func:`efficiency_figure`, for in-place updates."""
    data: list[TraceData] = []
    for arm in _arms(result, arms):
        if result is None:
            data += [{"x": [], "y": []} for _ in range(TRACES_PER_ARM)]
            continue
        s = result.summary(arm)
        upper = [m + d for m, d in zip(s.mean, s.std, strict=True)]
        lower = [m - d for m, d in zip(s.mean, s.std, strict=True)]
        runs = [p for p in result.points if p.arm == arm]
        data += [
            {"x": list(s.sizes) + list(s.sizes)[::-1], "y": upper + lower[::-1]},
            {"x": list(s.sizes), "y": list(s.mean)},
            {"x": [p.n_per_class for p in runs], "y": [p.test_acc for p in runs]},
        ]
    return data


def _arm_traces(arm: str, band: TraceData, mean: TraceData, runs: TraceData) -> list[go.Scatter]:
    """One arm's spread band, mean line and per-seed dots."""
    name, line = ARM_LABELS[arm], _ARM_COLORS[arm]
    hover = "%{x} per class: %{y:.1%}<extra>" + name + "</extra>"
    return [
        go.Scatter(
            name=f"{name} (mean ± 1 std)",
            fill="toself",
            fillcolor=_rgba(line, 0.18),
            line={"width": 0},
            hoverinfo="skip",
            showlegend=False,
            legendgroup=arm,
            **band,
        ),
        go.Scatter(
            name=name,
            mode="lines+markers",
            line={"color": line, "width": 2.5},
            legendgroup=arm,
            hovertemplate=hover,
            **mean,
        ),
        go.Scatter(
            name=f"{name}, each seed",
            mode="markers",
            opacity=0.45,
            marker={"color": line, "size": 6},
            showlegend=False,
            legendgroup=arm,
            hovertemplate=hover,
            **runs,
        ),
    ]


def efficiency_figure(
    result: EfficiencyResult | None = None,
    arms: Sequence[str] | None = None,
    height: int = 380,
    title: str = "Test accuracy vs labelled images per class",
) -> go.Figure:
    """The curve of ``result`` (or empty traces for ``arms``, to fill in later)."""
    fig = go.Figure()
    chosen = _arms(result, arms)
    data = efficiency_data(result, chosen)
    for i, arm in enumerate(chosen):
        fig.add_traces(_arm_traces(arm, *data[TRACES_PER_ARM * i : TRACES_PER_ARM * (i + 1)]))
    sizes = list(result.spec.sizes) if result is not None else [5, 10, 25, 50, 100]
    fig.update_layout(**base_layout(height=height, title={"text": title, "x": 0.01}))
    fig.update_xaxes(type="log", title_text="labelled training images per class", tickvals=sizes)
    fig.update_yaxes(title_text="test accuracy", range=[0, 1.02], tickformat=".0%")
    return fig
