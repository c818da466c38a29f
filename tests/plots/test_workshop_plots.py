"""Figures of the workshop: data-efficiency curve, probe ranking, feature maps, photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lab.core.analysis.efficiency import CurvePoint, CurveSpec, EfficiencyResult
from lab.core.analysis.imagenet_demo import FeatureMap, Photo, PhotoPrediction
from lab.core.analysis.probe import ProbeReport, ProbeResult, ProbeScores
from lab.plots import apply_trace_data
from lab.plots.efficiency import efficiency_data, efficiency_figure
from lab.plots.pretrained import feature_map_figure, photo_grid
from lab.plots.probe import probe_figure


def curve() -> EfficiencyResult:
    accs = {("feature_extraction", 5): (0.6, 0.7), ("feature_extraction", 10): (0.8, 0.8)}
    accs |= {("scratch", 5): (0.2, 0.4), ("scratch", 10): (0.3, 0.5)}
    points = tuple(
        CurvePoint(arm, n, seed, acc, 1.0, 30, 0.1)
        for (arm, n), pair in accs.items()
        for seed, acc in enumerate(pair)
    )
    return EfficiencyResult(CurveSpec(sizes=(5, 10)), points, ("a", "b"), 20, 1.0)


def test_curve_has_band_mean_and_seed_dots_per_arm() -> None:
    fig = efficiency_figure(curve())
    assert len(fig.data) == 6
    band, mean, dots = fig.data[3:6]  # from scratch
    assert list(mean.x) == [5, 10]
    assert list(mean.y) == pytest.approx([0.3, 0.4])
    # Band: mean + std left to right, then mean - std back.
    assert list(band.x) == [5, 10, 10, 5]
    assert list(band.y) == pytest.approx([0.4, 0.5, 0.3, 0.2])
    assert sorted(dots.y) == pytest.approx([0.2, 0.3, 0.4, 0.5])
    assert fig.layout.xaxis.type == "log"


def test_empty_curve_fills_in_place() -> None:
    fig = efficiency_figure(arms=("feature_extraction", "scratch"))
    assert all(len(trace.x) == 0 for trace in fig.data)
    apply_trace_data(fig, efficiency_data(curve()))
    assert list(fig.data[1].y) == pytest.approx([0.65, 0.8])
    with pytest.raises(ValueError, match="arms"):
        efficiency_figure(arms=("transfer",))


def result(label: str, status: str, acc: float | None, pretrained: bool = True) -> ProbeResult:
    scores = (
        ProbeScores(acc, 0.01, acc, 0.01, 5, acc - 0.05, acc + 0.03, acc - 0.1, acc + 0.1)
        if acc is not None
        else None
    )
    acc1 = 72.0 if pretrained else None
    return ProbeResult(
        label, label, pretrained, status, "", scores, 3_000_000, 12.0, 0.3, acc1, None, 1.0
    )


def test_probe_figure_puts_the_best_on_top_and_names_missing_models() -> None:
    report = ProbeReport(
        (
            result("good", "ok", 0.9),
            result("twin", "ok", 0.5, pretrained=False),
            result("big", "unavailable", None),
        ),
        "linear",
        20,
        60,
        ("a", "b", "c"),
        96,
        2.0,
    )
    fig = probe_figure(report)
    bars = fig.data[0]
    assert list(bars.y) == ["big", "twin", "good"]  # plotly draws bottom-up: best on top
    assert list(bars.x) == pytest.approx([0.0, 0.5, 0.9])
    assert list(bars.error_x.array) == pytest.approx([0.0, 0.03, 0.03])  # to the high end
    assert list(bars.error_x.arrayminus) == pytest.approx([0.0, 0.05, 0.05])
    assert list(bars.text) == ["", "50% · group 2", "90% · group 1"]
    texts = [
        t
        for trace in fig.data
        if trace.type == "scatter" and trace.mode == "text"
        for t in trace.text
    ]
    assert texts == ["not available offline", "random init"]
    assert "20/class" in fig.layout.annotations[0].text


def test_feature_map_figure_one_trace_per_class_and_map() -> None:
    fmap = FeatureMap(
        np.arange(12, dtype=float).reshape(6, 2), np.array([0, 0, 1, 1, 2, 2]),
        ("a", "b", "c"), "m (ImageNet weights)", 0.9, 0.8,
    )  # fmt: skip
    fig = feature_map_figure([fmap, fmap])
    assert len(fig.data) == 6
    assert list(fig.data[1].x) == [4.0, 6.0]
    assert "k-NN 90%" in fig.layout.annotations[0].text


def test_photo_grid_marks_the_true_class(tmp_path: Path) -> None:
    path = tmp_path / "imagenet_00_1.jpg"
    Image.new("RGB", (20, 20), "red").save(path)
    photo = Photo(path, 1, "goldfish")
    hit = PhotoPrediction(photo, [("goldfish", 0.9), ("tench", 0.1)])
    miss = PhotoPrediction(photo, [("tench", 0.9), ("carp", 0.1)])
    assert hit.top1_correct and not miss.top5_correct
    fig = photo_grid([hit, miss], columns=2)
    labels = [ax.get_xlabel() for ax in fig.axes[:2]]
    assert labels[0].startswith("✓ goldfish") and "✓" not in labels[1]
    assert fig.axes[1].title.get_color() == "#b00020"
