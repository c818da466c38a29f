"""The live display (the pump's apply function, as the app builds it): what one batch of
queued items does to the panels."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image
from synthetic_run import CLASSES, synthetic_events

from lab.core.training.events import Payload, StepCompleted
from lab.core.training.history import RunHistory
from lab.ui.compare_panel import ComparePanel
from lab.ui.messages import (
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
from lab.ui.routes import Display, live_display
from lab.ui.train_panel import TrainPanel
from lab.ui.use_panel import UsePanel as UsePanel  # a widget, not a test class


def _view() -> Display:
    results = ResultsPanel()
    results.ensure_figure()
    return live_display(TrainPanel(), results, ComparePanel(runs_dir=None), UsePanel())


def _points(view: Display) -> int:
    assert view.view.results.figure is not None
    return len(view.view.results.figure.data[0].x)  # the training-loss curve


def _wrapped(history: RunHistory, events: list[Payload]) -> list[RunEvent]:
    return [RunEvent(history, payload) for payload in events]


def test_a_run_is_folded_into_the_shown_history_and_drawn() -> None:
    view, history, events = _view(), RunHistory(name="1 · run"), synthetic_events(epochs=2)
    assert view.apply([NewRun(history)]) > 0
    assert view.view.history is history and view.view.preparing
    assert view.view.train.state == "running"  # preparing counts as running for the buttons
    sent = view.apply(_wrapped(history, events[:6]))  # started, 4 steps, an evaluation
    assert sent > 0 and not view.view.preparing
    assert len(history.steps) == 4 and len(history.evaluations) == 1
    assert _points(view) == 4 and view.view.results.epoch_slider.value == 1
    view.apply(_wrapped(history, events[6:]))
    assert history.state == "completed" and view.view.train.state == "completed"
    assert list(view.view.compare.select.options) == ["1 · run"]
    assert "Test accuracy" in view.view.test.test_acc.value


def test_the_last_events_of_an_earlier_run_are_kept_but_not_drawn() -> None:
    view, events = _view(), synthetic_events(epochs=1)
    first, second = RunHistory(name="first"), RunHistory(name="second")
    view.apply([NewRun(first), *_wrapped(first, events[:3])])
    view.apply([NewRun(second), *_wrapped(second, events[:2])])
    assert _points(view) == 1
    view.apply(_wrapped(first, events[3:]))  # the first run ends while the second starts
    assert first.state == "completed" and len(first.steps) == 4
    assert _points(view) == 1 and view.view.history is second
    assert list(view.view.compare.select.options) == ["first"]


def test_notices_show_and_clear_and_errors_outlive_the_run() -> None:
    view, history, events = _view(), RunHistory(), synthetic_events(epochs=1)
    view.apply([NewRun(history), *_wrapped(history, events[:2])])
    view.apply([Notice("a run is already running", "warning")])
    assert "already running" in view.view.train.message.value
    view.apply([SettingsChanged()])
    assert view.view.train.message.value == ""
    view.apply([Notice("info that ends with the run"), Notice("disk full", "error")])
    view.apply(_wrapped(history, events[2:]))
    assert view.view.train.message.value == "" and "disk full" in view.view.train.error.value


def test_the_lr_finder_busy_and_failed_states_reach_the_train_panel() -> None:
    view = _view()
    view.apply([LRFinderStarted()])
    assert view.view.train.lr_button.disabled
    view.apply([LRFinderFailed("no training batches")])
    assert "no training batches" in view.view.train.error.value
    assert not view.view.train.lr_button.disabled


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
        assert view.view.results.images is (images if loader is not broken else None)
        assert _points(view) == 1  # the curves are drawn either way


def test_a_display_error_is_shown_and_unknown_items_are_ignored() -> None:
    view = _view()
    view.failed(RuntimeError("plotly refused"))
    assert "could not update" in view.view.train.message.value
    assert "plotly refused" in view.view.train.message.value
    assert view.apply([object()]) == 0
    assert view.apply([ShowEpoch(1)]) == 0  # no run yet: nothing to show


def test_steps_without_an_evaluation_redraw_only_the_curves() -> None:
    view, history, events = _view(), RunHistory(), synthetic_events(epochs=1)
    view.apply([NewRun(history), *_wrapped(history, events[:1])])
    step = events[1]
    assert isinstance(step, StepCompleted)
    view.apply(_wrapped(history, [step]))
    assert _points(view) == 1 and view.view.results.epoch_slider.disabled
    assert "step 1/4" in view.view.train.progress_label.value
