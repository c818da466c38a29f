"""What a pretrained model knows, drawn: photos with their top-5 ImageNet classes, and
2-D maps of frozen features coloured by class (pretrained and random side by side)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import plotly.graph_objects as go
from matplotlib.figure import Figure
from plotly.subplots import make_subplots

from lab.core.analysis.imagenet_demo import FeatureMap, PhotoPrediction
from lab.plots._common import base_layout, color


def photo_grid(predictions: Sequence[PhotoPrediction], columns: int = 5) -> Figure:
    """Each photo above its top-5 classes; the true class is marked, a miss is red."""
    if not predictions:
        raise ValueError("predictions: pass at least one PhotoPrediction")
    rows = math.ceil(len(predictions) / columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(3.0 * columns, 4.2 * rows), squeeze=False, layout="constrained"
    )
    for ax in axes.flat:
        ax.axis("off")
    for ax, pred in zip(axes.flat, predictions, strict=False):
        ax.imshow(pred.photo.image().resize((160, 160)))
        lines = [
            f"{'✓ ' if name == pred.photo.label_name else ''}{name[:22]} {p:.0%}"
            for name, p in pred.top5
        ]
        ax.set_title(
            f"true: {pred.photo.label_name[:22]}",
            fontsize=9,
            color="black" if pred.top5_correct else "#b00020",
        )
        ax.set_axis_on()  # for the label below the photo; ticks and frame stay hidden
        ax.set_xlabel("\n".join(lines), fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
    plt.close(fig)  # the caller displays it; no second copy from pyplot's state
    return fig


def feature_map_figure(maps: Sequence[FeatureMap], height: int = 420) -> go.Figure:
    """One scatter per map (PCA of frozen features), one colour per class."""
    if not maps:
        raise ValueError("maps: pass at least one FeatureMap")
    titles = [f"{m.title}<br>k-NN {m.knn_acc:.0%} · linear probe {m.linear_acc:.0%}" for m in maps]
    fig = make_subplots(rows=1, cols=len(maps), subplot_titles=titles)
    for col, fmap in enumerate(maps, start=1):
        for k, name in enumerate(fmap.class_names):
            mask = fmap.labels == k
            fig.add_trace(
                go.Scatter(
                    x=fmap.points[mask, 0].tolist(),
                    y=fmap.points[mask, 1].tolist(),
                    mode="markers",
                    name=name,
                    legendgroup=name,
                    showlegend=col == 1,
                    marker={"color": color(k), "size": 6, "opacity": 0.8},
                ),
                row=1,
                col=col,
            )
    fig.update_layout(**base_layout(height=height, margin={"l": 30, "r": 10, "t": 70, "b": 30}))
    fig.update_xaxes(showticklabels=False, title_text="PC 1")
    fig.update_yaxes(showticklabels=False, title_text="PC 2")
    return fig
