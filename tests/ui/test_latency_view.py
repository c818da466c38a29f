"""Latency on this machine: measured on request, shown in the model table and as an axis
of the model plot, whose Pareto front follows the chosen axis."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lab.core.analysis.latency import MeasurementStopped
from lab.core.analysis.latency_cache import LatencyPair
from lab.ui import latency_view
from lab.ui.latency_view import LatencyControl
from lab.ui.model_panel import ModelPanel


class FakeLoad:
    """``OthersLoad`` with the share other work took during each block, in turn."""

    shares: list[float] = []

    def __init__(self) -> None:
        self.share = 0.0

    def __enter__(self) -> FakeLoad:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.share = FakeLoad.shares.pop(0) if FakeLoad.shares else 0.0


@pytest.fixture(autouse=True)
def quiet_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """No other process on the CPUs unless a test says so."""
    FakeLoad.shares = []
    monkeypatch.setattr(latency_view, "OthersLoad", FakeLoad)
    monkeypatch.setattr(latency_view, "others_share", lambda _s: 0.0)
    monkeypatch.setattr(latency_view, "RETRY_JITTER_S", 0.001)


class FakeCache:
    """Latency grows with the parameter count, so the front is predictable."""

    def __init__(self, known: dict[str, LatencyPair] | None = None) -> None:
        self.stored = dict(known or {})
        self.measured: list[str] = []
        self.kept: list[str] = []
        self.interruptible = False  # ask should_stop before measuring, as passes do

    def known(self) -> dict[str, LatencyPair]:
        return dict(self.stored)

    def get(self, key: str) -> LatencyPair | None:
        return self.stored.get(key)

    def measure(
        self, key: str, store: bool = True, should_stop: Callable[[], bool] | None = None
    ) -> LatencyPair:
        if self.interruptible and should_stop is not None and should_stop():
            raise MeasurementStopped(key)
        self.measured.append(key)
        pair = LatencyPair(12.5, 4.25)
        if store:
            self.store(key, pair)
        return pair

    def store(self, key: str, pair: LatencyPair) -> None:
        self.stored[key] = pair
        self.kept.append(key)


def _click_and_watch() -> tuple[ModelPanel, FakeCache, LatencyControl, list[str]]:
    """A fresh control whose button was clicked, and every status it showed."""
    panel = ModelPanel()
    cache = FakeCache()
    statuses: list[str] = []
    control = LatencyControl(panel, cache=cache, threaded=False, background=False)  # type: ignore[arg-type]
    control.status.observe(lambda change: statuses.append(change["new"]), "value")
    control.button.click()
    return panel, cache, control, statuses


def test_button_measures_the_chosen_model_and_fills_table_and_axis() -> None:
    panel = ModelPanel()
    cache = FakeCache()
    control = LatencyControl(panel, cache=cache, threaded=False, background=False)  # type: ignore[arg-type]
    assert "tl-latency" in control.button._dom_classes
    assert "ms b1" in panel.table.value and "12.5" not in panel.table.value
    control.button.click()
    assert cache.measured == [panel.model_key]
    assert panel.latencies[panel.model_key] == {"batch1_ms": 12.5, "batch32_ms": 4.25}
    assert "12.5" in panel.table.value and "4.2" in panel.table.value
    assert "12.5 ms per image at batch 1" in control.status.value
    panel.x_axis = "latency (ms, batch 1)"
    assert list(panel.scatter.data[0].x) == [12.5]  # only measured models have a latency
    assert list(panel.scatter.data[2].x) == [12.5]  # a front of one
    assert not control.button.disabled


def test_cached_latencies_show_at_once_and_the_front_follows_the_axis() -> None:
    panel = ModelPanel(offline_only=False)
    entries = [e for e in panel._visible if e.params and e.acc1][:6]
    known = {e.key: LatencyPair(e.params / 1e6, e.params / 2e6) for e in entries}
    cache = FakeCache(known)
    control = LatencyControl(panel, cache=cache, threaded=False, background=False)  # type: ignore[arg-type]
    assert set(panel.latencies) == set(known) and cache.measured == []
    panel.x_axis = "latency (ms/image, batch 32)"
    xs, ys = list(panel.scatter.data[0].x), list(panel.scatter.data[0].y)
    front_x, front_y = list(panel.scatter.data[2].x), list(panel.scatter.data[2].y)
    assert front_x == sorted(front_x) and front_y == sorted(front_y)
    front = list(zip(front_x, front_y, strict=True))
    for x, y in zip(xs, ys, strict=True):  # no model is more accurate for its cost
        assert max(fy for fx, fy in front if fx <= x) >= y
    control.measure_offline()  # offline models not cached get measured, cached ones not
    assert set(cache.measured).isdisjoint(known)


def test_measuring_waits_for_a_run_and_measures_again_if_one_started_meanwhile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # busy() answers in turn: a run trains at first, then none. The first measurement is
    # overlapped by a run that started during it (runs_watched moves), so it is taken again.
    busy = iter([True, True, False, False, False])
    watched = iter([1, 2, 2, 2])
    monkeypatch.setattr(latency_view, "busy", lambda: next(busy))
    monkeypatch.setattr(latency_view, "runs_watched", lambda: next(watched))
    monkeypatch.setattr(latency_view, "IDLE_POLL_S", 0.001)
    panel, cache, control, statuses = _click_and_watch()
    assert cache.measured == [panel.model_key, panel.model_key]
    assert cache.kept == [panel.model_key]  # the overlapped measurement is not kept
    assert any("waiting for the training run to end" in s for s in statuses)
    assert "12.5 ms per image at batch 1" in control.status.value
    assert next(busy, None) is None and next(watched, None) is None  # every answer was read


def test_a_job_stopped_while_it_waits_for_a_run_measures_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    panel = ModelPanel()
    cache = FakeCache()
    control = LatencyControl(panel, cache=cache, threaded=False, background=False)  # type: ignore[arg-type]

    def busy() -> bool:
        control.job.stop()  # as closing the page does, while the run trains on
        return True

    monkeypatch.setattr(latency_view, "busy", busy)
    monkeypatch.setattr(latency_view, "IDLE_POLL_S", 0.001)
    control.measure([panel.model_key])
    assert cache.measured == []


def test_measuring_waits_for_quiet_cpus_and_keeps_no_contended_timing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Before: another process keeps 70 % of the CPUs busy, then 50 %, then nothing. The
    # first measurement is shared with a neighbour (60 %), so it is not kept.
    before = iter([0.7, 0.5, 0.0, 0.0])
    monkeypatch.setattr(latency_view, "others_share", lambda _s: next(before))
    monkeypatch.setattr(latency_view, "IDLE_POLL_S", 0.001)
    FakeLoad.shares = [0.6, 0.05]
    panel, cache, control, statuses = _click_and_watch()
    assert cache.measured == [panel.model_key, panel.model_key]
    assert cache.kept == [panel.model_key]
    waits = [s for s in statuses if "other work keeps" in s]
    assert len(waits) == 1 and "70%" in waits[0]  # said once, not at every look
    assert "12.5 ms per image at batch 1" in control.status.value
    assert next(before, None) is None


def test_a_run_that_starts_during_a_measurement_stops_it_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # busy() answers in turn: idle before measuring; a run has started when the first
    # pass asks; it is still training at the next look; then it is over.
    busy = iter([False, True, True, False, False, False])
    monkeypatch.setattr(latency_view, "busy", lambda: next(busy))
    monkeypatch.setattr(latency_view, "IDLE_POLL_S", 0.001)
    panel = ModelPanel()
    cache = FakeCache()
    cache.interruptible = True
    control = LatencyControl(panel, cache=cache, threaded=False, background=False)  # type: ignore[arg-type]
    control.button.click()
    assert cache.measured == [panel.model_key]  # the stopped attempt measured nothing
    assert cache.kept == [panel.model_key]
    assert next(busy, None) is None
