"""LiveView on its own: what one batch of queued items does to the panels."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image
from synthetic_run import CLASSES, synthetic_events

from lab.core.events import Payload, RunStarted, StepCompleted
from lab.core.history import RunHistory
from lab.ui.compare_panel import ComparePanel
from lab.ui.live import LiveView
from lab.ui.messages import (
    LRFinderDone,
    LRFinderFailed,
    LRFinderStarted,
    NewRun,
    Notice,
    RunEvent,
    SettingsChanged,
    ShowEpoch,
    ValidationImages,
)
from lab.ui.results_panel import ResultsPanel
from lab.ui.test_panel import TestPanel as UsePanel  # a widget, not a test class
from lab.ui.train_panel import TrainPanel


def _view() -> LiveView:
    results = ResultsPanel()
    results.ensure_figure()
    return LiveView(TrainPanel(), results, ComparePanel(runs_dir=None), UsePanel())


def _points(view: LiveView) -> int:
    assert view.results.figure is not None
    return len(view.results.figure.data[0].x)  # the training-loss curve


def _wrapped(history: RunHistory, events: list[Payload]) -> list[RunEvent]:
    return [RunEvent(history, payload) for payload in events]


def test_a_run_is_folded_into_the_shown_history_and_drawn() -> None:
    view, history, events = _view(), RunHistory(name="1 · run"), synthetic_events(epochs=2)
    assert view.apply([NewRun(history)]) > 0
    assert view.history is history and view.preparing
    assert view.train.state == "running"  # preparing counts as running for the buttons
    sent = view.apply(_wrapped(history, events[:6]))  # started, 4 steps, an evaluation
    assert sent > 0 and not view.preparing
    assert len(history.steps) == 4 and len(history.evaluations) == 1
    assert _points(view) == 4 and view.results.epoch_slider.value == 1
    view.apply(_wrapped(history, events[6:]))
    assert history.state == "completed" and view.train.state == "completed"
    assert list(view.compare.select.options) == ["1 · run"]
    assert "Test accuracy" in view.test.test_acc.value


def test_bare_payloads_are_folded_into_a_history_of_their_own() -> None:
    view = _view()
    events = synthetic_events(epochs=1)
    view.apply(events[:3])  # a trainer subscribed the pump itself: no NewRun, no RunEvent
    assert view.history is not None and isinstance(view.history.started, RunStarted)
    assert view.history.class_names == CLASSES and len(view.history.steps) == 2


def test_the_last_events_of_an_earlier_run_are_kept_but_not_drawn() -> None:
    view, events = _view(), synthetic_events(epochs=1)
    first, second = RunHistory(name="first"), RunHistory(name="second")
    view.apply([NewRun(first), *_wrapped(first, events[:3])])
    view.apply([NewRun(second), *_wrapped(second, events[:2])])
    assert _points(view) == 1
    view.apply(_wrapped(first, events[3:]))  # the first run ends while the second starts
    assert first.state == "completed" and len(first.steps) == 4
    assert _points(view) == 1 and view.history is second
    assert list(view.compare.select.options) == ["first"]


def test_notices_show_and_clear_and_errors_outlive_the_run() -> None:
    view, history, events = _view(), RunHistory(), synthetic_events(epochs=1)
    view.apply([NewRun(history), *_wrapped(history, events[:2])])
    view.apply([Notice("a run is already running", "warning")])
    assert "already running" in view.train.message.value
    view.apply([SettingsChanged()])
    assert view.train.message.value == ""
    view.apply([Notice("info that ends with the run"), Notice("disk full", "error")])
    view.apply(_wrapped(history, events[2:]))
    assert view.train.message.value == "" and "disk full" in view.train.error.value


def test_the_lr_finder_result_sets_the_learning_rate_within_the_sliders_range() -> None:
    view = _view()
    lrs, losses = np.logspace(-5, -1, 8), np.linspace(2.0, 1.0, 8)
    view.apply([LRFinderStarted()])
    assert view.train.lr_button.disabled
    view.apply([LRFinderDone(lrs, losses, 3e-3)])
    assert view.train.lr_input.value == pytest.approx(3e-3)
    assert not view.train.lr_button.disabled
    view.apply([LRFinderDone(lrs, losses, 50.0)])  # above the slider: its top instead
    assert view.train.lr_input.value == pytest.approx(10.0**view.train.lr_input.max)
    view.apply([LRFinderFailed("no training batches")])
    assert "no training batches" in view.train.error.value


def test_the_gallerys_images_are_loaded_when_the_run_starts_and_failures_only_logged() -> None:
    events = synthetic_events(epochs=1)
    labels = np.arange(12) % len(CLASSES)
    images = ValidationImages(labels, lambda i: Image.new("RGB", (4, 4)))

    def broken() -> ValidationImages:
        raise OSError("the folder went away")

    loaders: list[Callable[[], ValidationImages | None]] = [lambda: images, broken]
    for loader in loaders:
        view, history = _view(), RunHistory()
        view.apply([NewRun(history, images=loader), *_wrapped(history, events[:2])])
        assert view.results.images is (images if loader is not broken else None)
        assert _points(view) == 1  # the curves are drawn either way


def test_a_display_error_is_shown_and_unknown_items_are_ignored() -> None:
    view = _view()
    view.failed(RuntimeError("plotly refused"))
    assert "could not update" in view.train.message.value
    assert "plotly refused" in view.train.message.value
    assert view.apply([object()]) == 0
    assert view.apply([ShowEpoch(1)]) == 0  # no run yet: nothing to show


def test_steps_without_an_evaluation_redraw_only_the_curves() -> None:
    view, history, events = _view(), RunHistory(), synthetic_events(epochs=1)
    view.apply([NewRun(history), *_wrapped(history, events[:1])])
    step = events[1]
    assert isinstance(step, StepCompleted)
    view.apply(_wrapped(history, [step]))
    assert _points(view) == 1 and view.results.epoch_slider.disabled
    assert "step 1/4" in view.train.progress_label.value
