"""Workshop panel: buttons drive the probe and the curve; results land in the widgets."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from lab.core.analysis.efficiency import CurvePoint, CurveSpec, EfficiencyResult
from lab.core.analysis.probe import ProbeReport, ProbeResult, ProbeScores
from lab.ui import efficiency_tab, workshop_panel
from lab.ui.workshop_panel import WorkshopPanel, parse_sizes


def fake_scores(acc: float, half: float = 0.04) -> ProbeScores:
    return ProbeScores(
        acc, 0.02, acc - 0.1, 0.03, 5, acc - half, acc + half, acc - 0.1 - half, acc - 0.1 + half,
        acc - 1.0, acc - 1.0 - half, acc - 1.0 + half,
    )  # fmt: skip


def fake_result(label: str, acc: float | None, status: str = "ok") -> ProbeResult:
    scores = fake_scores(acc) if acc is not None else None
    return ProbeResult(
        label, label, True, status, "" if scores else "no weights", scores, 3_500_000, 13.6,
        0.3, 71.9, 1280 if scores else None, 0.5,
    )  # fmt: skip


def fake_probe(candidates: Any, on_result: Any, **kwargs: Any) -> ProbeReport:
    results = [fake_result(c.label, 0.8 - 0.2 * i) for i, c in enumerate(candidates)]
    results.append(fake_result("resnet50.IMAGENET1K_V2", None, "unavailable"))
    for r in results:
        on_result(r)
    return ProbeReport(tuple(results), "linear", kwargs["n_per_class"], 200, ("a", "b"), 96, 1.5)


def fake_curve(spec: CurveSpec, on_point: Any, should_stop: Any, data: Any) -> EfficiencyResult:
    points = []
    for n in spec.sizes:
        for seed in spec.seeds:
            for arm in spec.arms:
                if should_stop():
                    return EfficiencyResult(spec, tuple(points), ("a", "b"), 20, 1.0, True)
                acc = 0.4 + n / 100 + (0.3 if arm == "feature_extraction" else 0.0)
                point = CurvePoint(arm, n, seed, acc, 1.0, 30, 0.1)
                points.append(point)
                on_point(point)
    return EfficiencyResult(spec, tuple(points), ("a", "b"), 20, 2.0)


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workshop_panel, "probe", fake_probe)
    monkeypatch.setattr(efficiency_tab, "data_efficiency", fake_curve)


def test_probe_button_fills_ranking_figure_and_status(fakes: None) -> None:
    panel = WorkshopPanel(threaded=False)
    assert not panel.probe_fig.layout.xaxis.visible  # no bare axes before a ranking
    panel.random_twin.value = True
    panel.probe_button.click()
    report = panel.last_probe
    assert report is not None
    labels = [c.label for c in panel.probe_candidates()]
    assert labels[-1].endswith("(random init)")
    # linear, notes, k-NN, LogME, size, ImageNet acc, notes
    assert len(panel.probe_fig.data) == 7
    assert set(panel.probe_fig.data[0].y) == {*labels, "resnet50.IMAGENET1K_V2"}
    assert panel.probe_fig.layout.xaxis.visible and panel.probe_fig.layout.height > 100
    status = panel.probe_status.value
    assert f"{labels[0]} is clearly ahead on 200 images" in status  # 80% vs 60%, ±4 points
    assert "tl-probe-table" in status and "[76%–84%]" in status  # intervals in the table
    assert "not separate" not in status  # nothing to separate
    assert not panel.probe_button.disabled


def tie_probe(candidates: Any, on_result: Any, **kwargs: Any) -> ProbeReport:
    results = [
        fake_result("lite0", 0.82),
        fake_result("lite1", 0.80),
        fake_result("mobilenet", 0.70),
        fake_result("twin0", 0.20),
        fake_result("twin1", 0.18),
    ]
    score = kwargs["score"]
    return ProbeReport(tuple(results), score, kwargs["n_per_class"], 200, ("a", "b"), 96, 1.5)


def test_probe_status_says_which_candidates_are_indistinguishable(monkeypatch) -> None:
    monkeypatch.setattr(workshop_panel, "probe", tie_probe)
    panel = WorkshopPanel(threaded=False)
    panel.probe_n.value = 20
    panel.probe_score.value = "knn"
    panel.probe_button.click()
    status = panel.probe_status.value
    verdict = (
        "lite0 and lite1 are indistinguishable on 200 images; mobilenet is a little "
        "behind; both twin0 and twin1 are far behind. About 320 images per class would "
        "likely separate lite0 from lite1."  # 20 * ((0.04 + 0.04) / 0.02) ** 2
    )
    assert verdict in status
    assert "ranked by k-NN" in status
    assert panel.last_probe is not None and panel.last_probe.score == "knn"
    groups = [[r.label for r in g] for g in panel.last_probe.groups()]
    assert groups == [["lite0", "lite1"], ["mobilenet"], ["twin0", "twin1"]]


def test_curve_button_draws_bands_means_and_runs(fakes: None) -> None:
    panel = WorkshopPanel(threaded=False)
    panel.curve_sizes.value = "10, 5"
    panel.curve_seeds.value = 2
    panel.curve_button.click()
    result = panel.last_curve
    assert result is not None and result.spec.sizes == (5, 10)
    assert len(panel.curve_fig.data) == 3 * 2  # two arms ticked by default
    mean_fe = panel.curve_fig.data[1]
    assert list(mean_fe.x) == [5, 10]
    assert list(mean_fe.y) == pytest.approx([0.75, 0.8])
    assert len(panel.curve_fig.data[2].x) == 4  # every seed's run as a dot
    assert (panel.curve_progress.value, panel.curve_progress.max) == (8, 8)
    assert panel.curve_status.value.startswith("done")


def test_bad_sizes_are_shown_in_the_panel(fakes: None) -> None:
    panel = WorkshopPanel(threaded=False)
    panel.curve_sizes.value = "five, ten"
    panel.curve_button.click()
    assert panel.last_curve is None
    assert panel.curve.error.layout.display is None
    assert "write whole numbers" in panel.curve.error.value
    with pytest.raises(ValueError, match="sizes="):
        parse_sizes("0, 3")


def test_threaded_curve_stops_on_request(fakes: None, monkeypatch: pytest.MonkeyPatch) -> None:
    started, release = threading.Event(), threading.Event()

    def slow_curve(spec: CurveSpec, on_point: Any, should_stop: Any, data: Any) -> EfficiencyResult:
        started.set()
        release.wait(5)
        return fake_curve(spec, on_point, should_stop, data)

    monkeypatch.setattr(efficiency_tab, "data_efficiency", slow_curve)
    panel = WorkshopPanel(threaded=True)
    panel.curve_button.click()
    assert started.wait(5)
    assert panel.curve_button.disabled and not panel.curve_stop.disabled
    panel.curve_button.click()  # a second job while one runs is refused, in words
    assert "still being measured" in panel.curve.error.value
    panel.curve_stop.click()
    release.set()
    panel.join(5)
    panel.curve.close()
    assert panel.last_curve is not None and panel.last_curve.stopped
    assert panel.curve_status.value.startswith("stopped")
    assert not panel.curve_button.disabled
