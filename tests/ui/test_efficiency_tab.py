"""The lab's data-efficiency tab: measured on a worker thread, drawn by the pump, with Stop."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest
from probe_fakes import fake_curve
from ui_helpers import wait_until

from lab.core.analysis.efficiency import CurveSpec, EfficiencyResult
from lab.core.data import ArrayImageDataset, DataError
from lab.plots.efficiency import TRACES_PER_ARM
from lab.ui import efficiency_tab
from lab.ui.efficiency_tab import EfficiencyTab

MODELS = ["mobilenet_v2.IMAGENET1K_V1", "tf_efficientnet_lite0.in1k"]


def tiny_dataset() -> ArrayImageDataset:
    images = np.zeros((20, 8, 8, 3), dtype=np.uint8)
    return ArrayImageDataset("tiny", images, np.arange(20) % 2, ("a", "b"))


class Recorded:
    """Stands in for ``data_efficiency``: what it was asked, and the panel after each point."""

    def __init__(self, tab: EfficiencyTab) -> None:
        self.tab = tab
        self.calls: list[tuple[CurveSpec, Any]] = []
        self.seen: list[tuple[int, int, str]] = []  # progress value, max, status per point

    def __call__(
        self, spec: CurveSpec, data: Any, on_point: Any, should_stop: Any
    ) -> EfficiencyResult:
        self.calls.append((spec, data))

        def point(p: Any) -> None:
            on_point(p)  # unthreaded: the pump applies it before this returns
            progress = self.tab.progress
            self.seen.append((progress.value, progress.max, self.tab.status.value))

        return fake_curve(spec, point, should_stop, data)


def test_run_measures_the_loaded_data_and_draws_each_point_as_it_comes(monkeypatch) -> None:
    data = tiny_dataset()
    tab = EfficiencyTab(lambda: data, threaded=False, models=MODELS)
    recorded = Recorded(tab)
    monkeypatch.setattr(efficiency_tab, "data_efficiency", recorded)
    assert "tl-efficiency-run" in tab.run_button._dom_classes
    assert tab.stop_button.disabled  # nothing to stop yet
    tab.model.value = MODELS[1]
    tab.sizes.value = "10, 5"
    tab.seeds.value = 3
    tab.image_size.value = 96
    tab.arms["fine_tuning"].value = True
    tab.run_button.click()
    ((spec, given),) = recorded.calls
    assert given is data  # the data set step 2 loaded, not a name
    assert (spec.model, spec.sizes, spec.seeds) == (MODELS[1], (5, 10), (0, 1, 2))
    assert spec.image_size == 96
    assert spec.arms == ("feature_extraction", "scratch", "fine_tuning")
    total = 2 * 3 * 3
    # Progress grew one run at a time, in words too, while the curve was measured.
    assert [v for v, _, _ in recorded.seen] == list(range(1, total + 1))
    assert {m for _, m, _ in recorded.seen} == {total}
    assert recorded.seen[0][2] == f"measuring: 1 of {total} runs"
    result = tab.last_result
    assert result is not None and len(result.points) == total and not result.stopped
    assert (tab.progress.value, tab.progress.max) == (total, total)
    assert tab.status.value.startswith(f"done: {total} runs")
    # The result figure: band, mean and runs per arm, the mean at each size over seeds.
    assert len(tab.figure.data) == TRACES_PER_ARM * 3
    for i, arm in enumerate(spec.arms):
        mean = tab.figure.data[TRACES_PER_ARM * i + 1]
        summary = result.summary(arm)
        assert list(mean.x) == [5, 10]
        assert list(mean.y) == pytest.approx(list(summary.mean))
        assert len(tab.figure.data[TRACES_PER_ARM * i + 2].x) == 2 * 3  # every seed's run
    assert list(tab.figure.layout.xaxis.tickvals) == [5, 10]
    assert not tab.run_button.disabled and tab.stop_button.disabled
    assert tab.wait() is result
    tab.arms["fine_tuning"].value = False  # fewer arms: the figure drops their traces
    tab.run_button.click()
    assert len(tab.figure.data) == TRACES_PER_ARM * 2


def test_stop_ends_the_curve_with_the_points_measured_so_far(monkeypatch, comm_log) -> None:
    first, release = threading.Event(), threading.Event()

    def slow(spec: CurveSpec, data: Any, on_point: Any, should_stop: Any) -> EfficiencyResult:
        def point(p: Any) -> None:
            on_point(p)
            if not first.is_set():  # hold after the first point until the test says go
                first.set()
                release.wait(5)

        return fake_curve(spec, point, should_stop, data)

    monkeypatch.setattr(efficiency_tab, "data_efficiency", slow)
    tab = EfficiencyTab("animal_shapes", models=MODELS)
    tab.sizes.value = "5, 10"
    try:
        tab.run_button.click()
        assert first.wait(5)
        began = comm_log.messages[-1][0]
        # The first point reaches the widgets through the pump while the curve goes on.
        wait_until(lambda: tab.progress.value == 1, what="the first point drawn")
        assert tab.status.value == "measuring: 1 of 8 runs" and tab.progress.max == 8
        wait_until(lambda: list(tab.figure.data[1].x) == [5], what="the first mean drawn")
        assert tab.run_button.disabled and not tab.stop_button.disabled
        tab.run_button.click()  # a second curve while one is measured is refused in words
        assert "still being measured" in tab.error.value
        tab.stop_button.click()
        release.set()
        wait_until(lambda: not tab.run_button.disabled, what="the curve ended")
        # After the first click only the pump wrote what the job changed (the refusal is
        # the second click's own).
        own = {w.comm.comm_id for w in (tab.error, tab.error.layout)}
        writers = {m[3] for m in comm_log.messages if m[0] > began and m[1] not in own}
        assert writers == {"transfer-lab-pump"}
        result = tab.wait(5)
    finally:
        release.set()
        tab.close()
    assert result.stopped and len(result.points) == 1 and result.spec.data == "animal_shapes"
    assert tab.status.value.startswith("stopped: 1 runs")
    assert (tab.progress.value, tab.progress.max) == (1, 8)
    assert not tab.run_button.disabled and tab.stop_button.disabled


def test_errors_are_shown_in_the_tab_and_cleared_by_the_next_curve(monkeypatch) -> None:
    calls: list[CurveSpec] = []

    def curve(spec: CurveSpec, data: Any, on_point: Any, should_stop: Any) -> EfficiencyResult:
        calls.append(spec)
        return fake_curve(spec, on_point, should_stop, data)

    def broken() -> Any:
        raise DataError("folder 'mine': no class sub-folders; put each class in its own folder")

    monkeypatch.setattr(efficiency_tab, "data_efficiency", curve)
    tab = EfficiencyTab(broken, threaded=False, models=MODELS)
    tab.run_button.click()
    assert tab.error.layout.display is None and "no class sub-folders" in tab.error.value
    assert tab.last_result is None and calls == [] and not tab.run_button.disabled
    with pytest.raises(RuntimeError, match="no class sub-folders"):
        tab.wait()
    tab._data = lambda: "animal_shapes"
    for arm in tab.arms.values():
        arm.value = False
    tab.run_button.click()
    assert "arms=()" in tab.error.value and calls == []  # nothing ticked: nothing to measure
    tab.arms["scratch"].value = True
    tab.sizes.value = "0, 5"
    tab.run_button.click()
    assert "sizes=" in tab.error.value and "whole numbers &gt;= 1" in tab.error.value
    tab.sizes.value = "5"
    tab.run_button.click()
    assert tab.error.layout.display == "none" and tab.last_result is not None
    assert calls[-1].arms == ("scratch",) and len(tab.figure.data) == TRACES_PER_ARM


def test_a_spec_sets_the_controls_and_the_settings_they_do_not_show() -> None:
    spec = CurveSpec(
        model=MODELS[1], sizes=(5, 10), seeds=(0, 1, 2), arms=("scratch",), image_size=None,
        test_per_class=30, epochs=8,
    )  # fmt: skip
    tab = EfficiencyTab("animal_shapes", threaded=False, models=MODELS, spec=spec)
    assert tab.model.value == MODELS[1] and tab.sizes.value == "5, 10"
    assert tab.seeds.value == 3 and tab.image_size.label == "model's own"
    assert tab.chosen_arms() == ("scratch",)
    assert tab.spec() == spec
    tab.sizes.value = "25"
    assert tab.spec().sizes == (25,) and tab.spec().epochs == 8
    with pytest.raises(RuntimeError, match="press Measure curve first"):
        tab.wait()
