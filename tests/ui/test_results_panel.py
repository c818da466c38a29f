"""The results panel on its own: what each pump call draws, and what user actions post."""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image
from synthetic_run import CLASSES, history_of, synthetic_events

from lab.core.training.events import EvaluationCompleted, Payload
from lab.core.training.history import RunHistory
from lab.plots.results import CONFUSION_TRACE, EMBEDDING_TRACES
from lab.ui.messages import ShowCell, ShowEpoch, ShowMisclassified, ValidationImages
from lab.ui.pump import Sends
from lab.ui.results_panel import ResultsPanel


def _run(epochs: int = 4) -> tuple[RunHistory, list[list[Payload]]]:
    """A started run and the rest of its events cut after each evaluation."""
    events = synthetic_events(epochs=epochs)
    history = history_of(events[:1])
    pieces: list[list[Payload]] = [[]]
    for payload in events[1:]:
        pieces[-1].append(payload)
        if isinstance(payload, EvaluationCompleted):
            pieces.append([])
    return history, pieces


def _fold(panel: ResultsPanel, history: RunHistory, events: list[Payload]) -> Sends:
    """Apply ``events`` as one pump batch does."""
    for payload in events:
        history.apply(payload)
    sends = Sends()
    panel.render(history, new_steps=True, new_evals=True, sends=sends)
    return sends


def _panel() -> tuple[ResultsPanel, list[Any]]:
    posted: list[Any] = []
    panel = ResultsPanel(post=posted.append)
    panel.ensure_figure()
    return panel, posted


def _images() -> ValidationImages:
    labels = np.arange(12) % len(CLASSES)  # the synthetic run's validation labels
    return ValidationImages(labels, lambda i: Image.new("RGB", (8, 8), (20 * i, 0, 0)))


def _confusion(panel: ResultsPanel) -> np.ndarray:
    assert panel.figure is not None
    return np.asarray(panel.figure.data[CONFUSION_TRACE].z)


def test_a_started_run_gets_an_empty_matrix_and_one_embedding_trace_per_class() -> None:
    panel, _ = _panel()
    history, _ = _run()
    sends = Sends()
    panel.reset(history, sends)
    assert panel.figure is not None
    assert [t.name for t in panel.figure.data[EMBEDDING_TRACES:]] == list(CLASSES)
    assert _confusion(panel).shape == (3, 3) and not _confusion(panel).any()
    assert panel.epoch_slider.disabled and panel.epoch_slider.max == 0
    assert sends.count > 0


def test_the_shown_epoch_follows_the_latest_until_the_user_looks_back() -> None:
    panel, _ = _panel()
    history, pieces = _run()
    panel.reset(history, Sends())
    _fold(panel, history, pieces[0] + pieces[1])
    slider = panel.epoch_slider
    assert (slider.min, slider.max, slider.value, slider.disabled) == (1, 2, 2, False)
    np.testing.assert_array_equal(_confusion(panel), history.evaluations[1].confusion)
    panel.show_epoch(history, 1, Sends())
    assert slider.value == 1
    np.testing.assert_array_equal(_confusion(panel), history.evaluations[0].confusion)
    _fold(panel, history, pieces[2])  # a new epoch while an older one is shown: stay
    assert (slider.max, slider.value) == (3, 1)
    np.testing.assert_array_equal(_confusion(panel), history.evaluations[0].confusion)
    panel.show_epoch(history, 3, Sends())  # back at the latest: follow it again
    _fold(panel, history, pieces[3])
    assert (slider.max, slider.value) == (4, 4)
    np.testing.assert_array_equal(_confusion(panel), history.evaluations[3].confusion)


def test_an_epoch_already_drawn_or_unknown_sends_nothing() -> None:
    panel, _ = _panel()
    history, pieces = _run()
    panel.reset(history, Sends())
    _fold(panel, history, pieces[0] + pieces[1])
    for epoch in (2, 9):
        sends = Sends()
        panel.show_epoch(history, epoch, sends)
        assert sends.count == 0, epoch


def test_shares_make_each_true_class_row_sum_to_one() -> None:
    panel, _ = _panel()
    history, pieces = _run()
    panel.reset(history, Sends())
    _fold(panel, history, pieces[0] + pieces[1])
    counts = _confusion(panel)
    panel.normalize = True
    panel.show_epoch(history, 2, Sends())
    shares = _confusion(panel)
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    np.testing.assert_allclose(shares, counts / counts.sum(axis=1, keepdims=True))


def test_user_actions_post_requests_and_pump_moves_post_none() -> None:
    panel, posted = _panel()
    history, pieces = _run()
    panel.reset(history, Sends())
    _fold(panel, history, pieces[0] + pieces[1])
    assert posted == []  # the slider moved, but the pump moved it
    panel.epoch_slider.value = 1
    panel.normalize_check.value = True
    panel.order_toggle.value = "confident_correct"
    panel.misclassified_button.click()
    assert posted == [ShowEpoch(1), ShowEpoch(1), ShowMisclassified(), ShowMisclassified()]
    panel.images = _images()
    panel.show_cell(history, 0, 1, Sends())  # the gallery now shows a cell...
    panel.order_toggle.value = "top_losses"
    assert posted[-1] == ShowCell(0, 1)  # ...so a new order re-sorts that cell


def test_a_run_that_failed_to_start_shows_words_instead_of_empty_axes() -> None:
    panel, _ = _panel()
    panel.failed_to_start(Sends())
    assert panel.plot_box.children == (panel.placeholder,)
    assert "failed before it started" in panel.placeholder.value
    history, _ = _run()
    panel.reset(history, Sends())  # the next run brings the figure back
    assert panel.plot_box.children == (panel.figure,)


def test_the_gallery_lists_the_shown_epochs_mistakes_and_a_cells_images() -> None:
    panel, _ = _panel()
    history, pieces = _run()
    panel.images = _images()
    labels = panel.images.labels
    panel.reset(history, Sends())
    _fold(panel, history, pieces[0])
    evaluation = history.evaluations[0]
    wrong = int((evaluation.val_predictions != labels).sum())
    assert wrong > 0
    title = panel.gallery.title.value
    assert "Top losses" in title and "epoch 1" in title
    assert len(panel.gradcam.choice.options) == wrong
    true, predicted = 0, 1
    in_cell = int(((labels == true) & (evaluation.val_predictions == predicted)).sum())
    panel.show_cell(history, true, predicted, Sends())
    assert f"True {CLASSES[true]}, predicted {CLASSES[predicted]}" in panel.gallery.title.value
    assert len(panel.gradcam.choice.options) == in_cell
