"""The plot functions turn run histories into figures whose data matches the run."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from lab.core.training.history import RunHistory
from lab.plots import (
    CURVE_TRACES,
    RESULT_COLUMNS,
    apply_trace_data,
    cell_indices,
    compare_figure,
    confusion_data,
    confusion_figure,
    curves_data,
    curves_figure,
    embedding_data,
    embedding_figure,
    lr_finder_figure,
    misclassified_indices,
    results_table,
    thin,
    topk_figure,
)
from lab.plots.compare import data_name
from lab.plots.results import CONFUSION_TRACE, EMBEDDING_TRACES, results_data, results_figure


def test_curves_follow_the_run(make_history):
    history = make_history(epochs=3, steps_per_epoch=4)
    fig = curves_figure(history)
    assert [t.name for t in fig.data] == list(CURVE_TRACES)
    steps, train_loss, val_loss, train_acc, val_acc = fig.data
    # per-step points sit at fractional epochs so epoch 3's last step lands on x=3
    assert steps.x == pytest.approx([g / 4 for g in range(1, 13)])
    assert steps.y == pytest.approx([s.loss for s in history.steps])
    assert list(val_loss.x) == [1, 2, 3]
    assert val_acc.y == pytest.approx([e.val_acc for e in history.evaluations])
    assert train_acc.y == pytest.approx([e.train_acc for e in history.evaluations])
    assert train_loss.y == pytest.approx([1.0, 0.5, 1 / 3])


def test_curves_of_an_empty_run_have_empty_traces():
    fig = curves_figure(RunHistory())
    assert len(fig.data) == len(CURVE_TRACES)
    assert all(len(t.x or ()) == 0 for t in fig.data)
    assert curves_data(None) == curves_data(RunHistory())


def test_thin_caps_points_and_keeps_the_last():
    values = list(range(10_001))
    kept = thin(values, 100)
    assert len(kept) <= 101
    assert kept[0] == 0 and kept[-1] == 10_000
    assert kept == sorted(kept)
    assert thin(values[:50], 100) == values[:50]


def test_apply_trace_data_updates_in_place(make_history):
    fig = go.FigureWidget(curves_figure(RunHistory()))
    traces_before = list(fig.data)
    history = make_history(epochs=2)
    with fig.batch_update():
        apply_trace_data(fig, curves_data(history))
    assert list(fig.data) == traces_before  # same trace objects, not new ones
    assert list(fig.data[4].y) == pytest.approx([e.val_acc for e in history.evaluations])
    with pytest.raises(ValueError, match="traces"):
        apply_trace_data(fig, curves_data(history)[:2])


def test_confusion_shows_the_chosen_epoch(make_history):
    history = make_history(epochs=3)
    for evaluation in history.evaluations:
        (data,) = confusion_data(history, evaluation.epoch)
        assert np.array_equal(data["z"], evaluation.confusion)
        assert data["x"] == list(history.class_names)
    latest = confusion_figure(history).data[0]
    assert np.array_equal(latest.z, history.evaluations[-1].confusion)
    (normalized,) = confusion_data(history, 1, normalize=True)
    assert np.asarray(normalized["z"]).sum(axis=1) == pytest.approx(np.ones(3))


def test_confusion_before_any_evaluation_is_zero(make_history):
    history = make_history(epochs=2)
    (data,) = confusion_data(history, epoch=7)
    assert np.asarray(data["z"]).shape == (3, 3)
    assert not np.asarray(data["z"]).any()


def test_cell_and_misclassified_indices(make_history):
    history = make_history(epochs=2, n_val=30)
    evaluation = history.evaluations[0]
    labels = np.arange(30) % 3
    preds = np.asarray(evaluation.val_predictions)
    for true in range(3):
        for pred in range(3):
            expected = [i for i in range(30) if labels[i] == true and preds[i] == pred]
            assert cell_indices(labels, evaluation, true, pred).tolist() == expected
            assert evaluation.confusion[true, pred] == len(expected)
    wrong = misclassified_indices(labels, evaluation)
    assert wrong.tolist() == [i for i in range(30) if labels[i] != preds[i]]
    with pytest.raises(ValueError, match="val_labels"):
        cell_indices(labels[:5], evaluation, 0, 0)


def test_embedding_has_a_trace_per_class(make_history):
    history = make_history(epochs=2, n_val=30)
    fig = embedding_figure(history, epoch=1)
    assert [t.name for t in fig.data] == list(history.class_names)
    emb = history.evaluations[0].embedding
    for k, trace in enumerate(fig.data):
        mask = emb.labels == k
        assert trace.x == pytest.approx(emb.points[mask, 0].tolist())
        wrong = emb.predictions[mask] != k
        assert [s == "x" for s in trace.marker.symbol] == wrong.tolist()
    assert "PCA" in fig.layout.title.text
    assert all(d["x"] == [] for d in embedding_data(RunHistory(), n_classes=3))


def test_compare_overlays_every_run(make_history):
    runs = [make_history(name="scratch", epochs=2), make_history(name="fine", epochs=3)]
    fig = compare_figure(runs)
    assert len(fig.data) == 4
    assert [t.name for t in fig.data] == ["scratch", "scratch", "fine", "fine"]
    assert list(fig.data[3].x) == [1, 2, 3]
    rows = results_table(runs)
    assert [list(r) for r in rows] == [list(RESULT_COLUMNS)] * 2
    assert rows[1]["best val acc"] == runs[1].best_val_acc
    assert rows[0]["test acc"] == 0.75 and rows[0]["state"] == "completed"
    assert results_table([RunHistory(name="new")])[0]["best val acc"] is None


def test_results_figure_holds_every_live_plot_in_trace_order(make_history):
    history = make_history(epochs=3, n_val=30)
    fig = results_figure(history, epoch=2)
    names = [t.name for t in fig.data]
    assert names[:CONFUSION_TRACE] == list(CURVE_TRACES)
    assert fig.data[CONFUSION_TRACE].type == "heatmap"
    assert names[EMBEDDING_TRACES:] == list(history.class_names)
    assert np.array_equal(fig.data[CONFUSION_TRACE].z, history.evaluations[1].confusion)
    data = results_data(history, epoch=2)
    assert len(data) == len(fig.data)
    assert fig.data[EMBEDDING_TRACES].x == pytest.approx(data[EMBEDDING_TRACES]["x"])
    titles = [a.text for a in fig.layout.annotations]
    assert titles[2:] == ["Confusion matrix, epoch 2", "Feature embedding (PCA), epoch 2"]
    assert len(results_figure().data) == EMBEDDING_TRACES  # no run: no class traces


def test_lr_finder_marks_the_suggestion():
    lrs = [1e-5, 1e-4, 1e-3, 1e-2]
    fig = lr_finder_figure(lrs, [2.0, 1.5, 0.9, 3.0], suggested=1.1e-3)
    assert list(fig.data[1].x) == [1.1e-3] and list(fig.data[1].y) == [0.9]
    assert fig.layout.xaxis.type == "log"
    assert len(lr_finder_figure().data[1].x) == 0


def test_topk_puts_the_best_on_top():
    fig = topk_figure(["a", "b", "c"], [0.7, 0.2, 0.1])
    assert list(fig.data[0].y) == ["c", "b", "a"]
    assert list(fig.data[0].x) == [0.1, 0.2, 0.7]


def test_results_table_names_the_data_set_of_each_run():
    assert data_name({"name": "mnist5k", "path": None}) == "mnist5k"
    assert data_name({"name": "folder", "path": "/data/uploads/leaves"}) == "folder leaves"
    assert data_name(None) is None
