"""The whole lab driven by its buttons, with a tiny model and the real pump thread."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from PIL import Image
from ui_helpers import tiny_factory, wait_until

from lab.core.training.config import RunConfig
from lab.plots._common import thin
from lab.plots.curves import MAX_STEP_POINTS
from lab.plots.results import CONFUSION_TRACE
from lab.ui import TransferLab
from lab.ui.pump import MAX_MESSAGES_PER_S


@pytest.fixture
def make_app() -> Iterator[Callable[..., TransferLab]]:
    apps: list[TransferLab] = []

    def make(
        factory: Callable[[RunConfig], Any], epochs: int = 3, batch: int = 8, runs_dir: Any = None
    ) -> TransferLab:
        app = TransferLab(trainer_factory=factory, runs_dir=runs_dir)
        app.train_panel.epochs, app.train_panel.batch_size = epochs, batch
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()


def shown(widget: Any) -> bool:
    return widget.layout.display != "none" and bool(widget.value)


def status(app: TransferLab) -> str:
    return app.train_panel.status.value


def test_start_draws_curves_and_completes_at_a_bounded_rate(make_app, comm_log):
    app = make_app(tiny_factory(), epochs=4, batch=2)  # 32 steps per epoch, fast
    began = time.monotonic()
    app.train_panel.start_button.click()
    wait_until(lambda: status(app) == "completed", what="completed")
    elapsed = time.monotonic() - began
    history = app.view.history
    assert history is not None and len(history.steps) == 4 * 32
    curves = app.results_panel.figure.data
    assert len(curves[0].x) == 4 * 32  # every step's loss reached the figure
    assert list(curves[4].x) == [1, 2, 3, 4]  # one validation accuracy per epoch
    assert curves[4].y == pytest.approx([e.val_acc for e in history.evaluations])
    confusion = np.asarray(app.results_panel.figure.data[CONFUSION_TRACE].z)
    assert confusion.shape == (4, 4) and confusion.sum() == 32  # every val image counted
    assert app.train_panel.progress.value == app.train_panel.progress.max == 128
    assert "Test accuracy" in app.use_panel.test_acc.value
    assert list(app.compare_panel.select.value) == [history.name]
    assert not shown(app.train_panel.error)
    # Widgets were written by the pump alone (the Start click only creates the results
    # plot and puts it in its box, on the main thread), and slowly enough for a browser.
    results = app.results_panel
    created = {results.plot_box.comm.comm_id, results.figure.comm.comm_id}
    others = {(m[1], m[3]) for m in comm_log.messages if m[0] >= began}
    assert {cid for cid, thread in others if thread != "transfer-lab-pump"} == created
    assert comm_log.count(since=began) <= MAX_MESSAGES_PER_S * elapsed + 40


def test_pause_resume_and_stop_name_the_state(make_app):
    app = make_app(tiny_factory(step_s=0.03), epochs=50)
    train = app.train_panel
    assert status(app) == "idle" and train.pause_button.disabled
    train.start_button.click()
    trainer = app.trainer
    wait_until(lambda: status(app) == "running" and len(trainer.history.steps) > 2, what="steps")
    assert not train.pause_button.disabled and not train.stop_button.disabled
    train.pause_button.click()
    wait_until(lambda: status(app) == "paused", what="paused")
    assert train.pause_button.disabled and not train.resume_button.disabled
    steps = len(trainer.history.steps)
    time.sleep(0.3)
    assert len(trainer.history.steps) == steps  # paused means no training
    train.resume_button.click()
    wait_until(lambda: len(trainer.history.steps) > steps + 2, what="more steps")
    wait_until(lambda: status(app) == "running", what="running again")
    train.stop_button.click()
    wait_until(lambda: status(app) == "stopped", what="stopped")
    assert trainer.join(5)
    assert "kept" in train.status_detail.value
    assert not shown(train.error)
    assert train.pause_button.disabled and train.stop_button.disabled
    assert not train.start_button.disabled


def test_a_second_start_is_refused_and_the_run_goes_on(make_app):
    app = make_app(tiny_factory(step_s=0.2), epochs=50)
    app.train_panel.start_button.click()
    first = app.trainer
    wait_until(lambda: len(first.history.steps) > 2, what="first steps")
    app.train_panel.start_button.click()
    message = app.train_panel.message
    wait_until(lambda: shown(message), what="the refusal")
    assert "already running" in message.value and "Stop" in message.value
    assert app.trainer is first and first.state == "running"
    points = len(app.results_panel.figure.data[0].x)
    wait_until(lambda: len(app.results_panel.figure.data[0].x) > points, what="more points")
    app.stop()
    wait_until(lambda: status(app) == "stopped", what="stopped")
    # The refusal was about the run that has now ended: it goes with it.
    wait_until(lambda: not shown(message), what="the refusal cleared")
    # Every step is drawn (long curves are thinned to a fixed number of points).
    drawn = len(app.results_panel.figure.data[0].x)
    assert drawn == len(thin(first.history.steps, MAX_STEP_POINTS))


def test_a_failing_run_shows_its_error_in_the_panel(make_app):
    app = make_app(tiny_factory(fail_after=3))
    app.approach_panel.approach = "scratch"  # train the whole net: no cached features
    assert app.model_panel.from_scratch and "no weights loaded" in app.model_panel.info.value
    app.start()
    wait_until(lambda: status(app) == "failed", what="failed")
    error = app.train_panel.error
    assert shown(error) and "sensor broke" in error.value
    assert "failed at epoch 1" in app.train_panel.status_detail.value
    assert "before the test" in app.use_panel.test_acc.value


def test_an_invalid_setting_is_explained_and_nothing_starts(make_app):
    def refuse(config: RunConfig) -> Any:
        raise ValueError("n_per_class=0: choose at least 1 image per class")

    app = make_app(refuse)
    assert app.start() is None
    error = app.train_panel.error
    wait_until(lambda: shown(error), what="the error")
    assert "n_per_class=0" in error.value
    assert app.trainer is None and status(app) == "idle"
    app.data_panel.n_per_class = 20  # the user changes what caused it: the error goes
    assert not shown(error)


def test_a_batch_larger_than_the_training_split_is_refused_before_the_run(make_app):
    app = make_app(tiny_factory(), batch=64)
    app.data_panel.split_counts = lambda: {"train": np.array([10, 10]), "val": np.array([2, 2])}
    assert app.start() is None
    error = app.train_panel.error
    assert shown(error) and "batch_size=64" in error.value and "20 training images" in error.value
    assert "step 4 to 20 or less" in error.value
    assert app.trainer is None and status(app) == "idle"
    assert app.compare_panel.runs == {}  # no failed run to compare
    app.train_panel.batch_size = 16
    assert not shown(error)
    assert app.start() is not None


def settled(app: TransferLab) -> None:
    """Wait for the run to end and the pump to apply everything it reported."""
    assert app.trainer is not None and app.trainer.join(20)
    wait_until(lambda: not app.pump.pending, what="the events drained")
    app.pump.drain()  # waits for the batch the pump thread may be applying


def test_a_batch_larger_than_the_unloaded_data_is_refused_not_a_failed_run(make_app, tmp_path):
    app = make_app(tiny_factory(save=True), epochs=1, runs_dir=str(tmp_path))
    app.start()
    settled(app)
    first, history = app.trainer, app.view.history
    assert status(app) == "completed" and history is not None
    curve = list(app.results_panel.figure.data[0].x)
    test_text = app.use_panel.test_acc.value
    assert app.data_panel.split_counts() is None  # step 2 never loaded: checked at set-up
    app.train_panel.batch_size = 128  # more than the 64 training images
    refused = app.start()
    assert refused is not None
    settled(app)
    assert refused.refused and refused.history.started is None
    error = app.train_panel.error
    assert shown(error) and "Could not start" in error.value
    assert "batch_size=128" in error.value and "64 training images" in error.value
    assert "batch size is in step 4" in error.value  # where to fix it
    # Not a run: nothing saved, nothing to compare, the last run stays on screen.
    assert list(app.compare_panel.runs) == [history.name]
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 1
    assert status(app) == "completed" and app.view.history is history
    assert list(app.results_panel.figure.data[0].x) == curve
    assert app.use_panel.test_acc.value == test_text
    assert app.trained_model() is first and app.shown_trainer() is first
    app.train_panel.batch_size = 8  # the user fixes it: the error goes, the next run trains
    wait_until(lambda: not shown(error), what="the refusal cleared")
    app.start()
    settled(app)
    assert status(app) == "completed" and len(app.compare_panel.runs) == 2
    assert app.shown_trainer() is app.trainer and not app.trainer.refused


def test_a_first_start_refused_at_set_up_leaves_the_lab_idle(make_app):
    app = make_app(tiny_factory(), batch=128)
    app.start()
    settled(app)
    assert status(app) == "idle" and app.view.history is None
    assert "batch_size=128" in app.train_panel.error.value
    assert app.compare_panel.runs == {} and app.trained_model() is None
    assert app.shown_trainer() is None
    results = app.results_panel
    assert results.plot_box.children == (results.placeholder,)  # no empty axes
    assert "Nothing ran" in results.placeholder.value
    assert not app.train_panel.start_button.disabled


def test_config_comes_from_the_panels(make_app):
    app = make_app(tiny_factory(), epochs=7, batch=16)
    app.approach_panel.approach = "fine_tuning"
    app.train_panel.optimizer, app.train_panel.lr = "sgd", 0.05
    app.results_panel.embedding = "tsne"
    config = app.config()
    assert (config.epochs, config.batch_size, config.optimizer) == (7, 16, "sgd")
    assert config.lr == pytest.approx(0.05) and config.approach == "fine_tuning"
    assert app.approach_panel.head_lr == pytest.approx(0.05)  # one LR, two places
    assert config.embedding == "tsne" and config.model == app.model_panel.model_key


def test_confusion_epochs_and_cells_show_their_images(make_app):
    app = make_app(tiny_factory(), epochs=3)
    app.start()
    wait_until(lambda: status(app) == "completed", what="completed")
    results, history = app.results_panel, app.view.history
    gallery = results.gallery
    wait_until(lambda: "Top losses" in gallery.title.value, what="top-losses gallery")
    results.epoch = 1  # the slider
    title = results.figure.layout.annotations[2]
    wait_until(lambda: "epoch 1" in title.text, what="epoch 1")
    heatmap = results.figure.data[CONFUSION_TRACE]
    assert np.array_equal(heatmap.z, history.evaluations[0].confusion)
    true, predicted = np.unravel_index(np.argmax(heatmap.z), np.shape(heatmap.z))
    names = history.class_names
    points = SimpleNamespace(xs=[names[predicted]], ys=[names[true]])
    results._on_cell_clicked(heatmap, points, None)  # what a click on the cell calls
    wait_until(lambda: f"True {names[true]}" in gallery.title.value, what="cell images")
    assert f"predicted {names[predicted]}" in gallery.title.value
    assert gallery.image.layout.display != "none" and gallery.image.value[:4] == b"\x89PNG"


def test_lr_finder_plots_and_sets_a_learning_rate(make_app, comm_log):
    app = make_app(tiny_factory())
    train, approach = app.train_panel, app.approach_panel
    began = time.monotonic()
    train.lr_button.click()
    info = train.lr_info
    wait_until(lambda: "Suggested" in info.value or "No clear" in info.value, what="LR sweep")
    assert "Suggested" in info.value  # the tiny model's seeded sweep always finds one
    assert train.lr_box.layout.display != "none"
    assert len(train.lr_figure.data[0].x) > 5
    suggested = train.lr_figure.data[1].x[0]
    assert app.lr == pytest.approx(min(suggested, 1.0))
    # One LR, shown by two sliders with one range, step and readout.
    assert train.lr == approach.head_lr == app.lr == app.config().lr
    sliders = (train.lr_input, approach.head_lr_slider)
    assert sliders[0].value == sliders[1].value == app.lr
    for name in ("min", "max", "step", "base", "readout_format"):
        assert getattr(sliders[0], name) == getattr(sliders[1], name), name
    # The suggestion reached the sliders from the pump thread, like every other output;
    # the main thread only created the LR plot and put it in its box.
    created = {train.lr_box.comm.comm_id, train.lr_figure.comm.comm_id}
    sent = {(m[1], m[3]) for m in comm_log.messages if m[0] >= began}
    assert {cid for cid, thread in sent if thread != "transfer-lab-pump"} <= created
    slider_ids = {s.comm.comm_id for s in sliders}
    assert {(cid, "transfer-lab-pump") for cid in slider_ids} <= sent


def test_both_lr_sliders_move_together(make_app):
    app = make_app(tiny_factory())
    app.approach_panel.head_lr_slider.value = 0.0059
    assert app.lr == app.train_panel.lr_input.value == pytest.approx(0.0059)
    app.train_panel.lr_input.value = 0.02
    assert app.approach_panel.head_lr == app.lr == pytest.approx(0.02)


def test_predict_on_an_uploaded_image(make_app):
    app = make_app(tiny_factory(), epochs=1)
    upload = [{"name": "x.png", "content": _png(Image.new("RGB", (8, 8), "red"))}]
    assert app.use_panel.predict_upload(upload) == []  # nothing trained yet
    assert "Start" in app.use_panel.error.value
    app.start()
    wait_until(lambda: status(app) == "completed", what="completed")
    top = app.use_panel.predict_upload(upload)
    assert [p for _, p in top] == sorted((p for _, p in top), reverse=True)
    assert sum(p for _, p in top) == pytest.approx(1.0, abs=1e-4)  # 4 classes, all shown
    assert list(app.use_panel.prediction.data[0].y) == [n for n, _ in top][::-1]
    assert app.use_panel.predict_upload([{"name": "x.txt", "content": b"hello"}]) == []
    assert "not an image" in app.use_panel.error.value


def test_a_start_that_fails_at_set_up_keeps_the_trained_model(make_app, tmp_path):
    app = make_app(tiny_factory(save=True), epochs=1, runs_dir=str(tmp_path))
    app.start()
    wait_until(lambda: status(app) == "completed", what="completed")
    trained = app.trainer
    panel, png = app.use_panel, _png(Image.new("RGB", (8, 8), "red"))
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the runs folder should be")
    app.runs_dir = str(blocker)  # the new run cannot write its folder: fails at set-up
    app.start()
    wait_until(lambda: status(app) == "failed", what="failed at set-up")
    assert app.trained_model() is trained and app.trainer is not trained
    # No half-width empty axes: the results say why there is nothing to plot.
    results = app.results_panel
    assert results.plot_box.children == (results.placeholder,)
    assert "failed before it started" in results.placeholder.value
    assert "before it trained" in panel.test_acc.value and "last trained model" in (
        panel.test_acc.value
    )
    assert panel.predict_upload([{"name": "x.png", "content": png}]) != []
    assert not shown(panel.error)
    app.runs_dir = str(tmp_path)
    assert app.start().join(20)
    wait_until(lambda: status(app) == "completed", what="a good run again")
    assert results.plot_box.children == (results.figure,)


def test_a_new_run_hides_the_old_prediction_and_the_same_file_predicts_again(make_app):
    app = make_app(tiny_factory(), epochs=1)
    panel, png = app.use_panel, _png(Image.new("RGB", (8, 8), "red"))
    app.start()
    wait_until(lambda: status(app) == "completed", what="first run")
    panel.upload.receive([("x.png", png)])
    assert panel.prediction is not None and panel.prediction_box.layout.display != "none"
    assert app.start().join(20)
    wait_until(lambda: not app.pump.pending, what="the events drained")
    app.pump.drain()  # waits for the batch the pump thread may be applying
    assert status(app) == "completed"
    # The bars were the first model's: gone, with a word on why.
    assert panel.prediction_box.layout.display == "none"
    assert panel.preview.layout.display == "none"
    assert "upload an image again" in panel.predict_note.value
    assert app.trained_model() is app.trainer
    for _ in range(2):  # the same file, twice: each upload predicts with the new model
        panel.prediction_box.layout.display = "none"
        panel.upload.receive([("x.png", png)])
        assert panel.prediction_box.layout.display != "none"
    assert panel.predict_note.value == ""


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_export_writes_the_model_or_explains_why_not(make_app, tmp_path):
    app = make_app(tiny_factory(), epochs=1)
    panel = app.use_panel
    panel.export_dir = tmp_path
    assert panel.export("state_dict") is None  # nothing trained yet
    assert "Start" in panel.error.value
    app.start()
    wait_until(lambda: status(app) == "completed", what="completed")
    path = panel.export("state_dict")
    assert path is not None and path.is_file() and path.parent.parent == tmp_path
    assert str(path) in panel.export_info.value and not shown(panel.error)
    # The tiny model has no preprocessing to size an example input: said, not raised.
    assert panel.export("torchscript") is None
    assert "example" in panel.error.value


def test_runs_are_compared_and_saved_runs_come_back(make_app, tmp_path):
    app = make_app(tiny_factory(save=True), epochs=2, runs_dir=str(tmp_path))
    compare = app.compare_panel
    assert compare.figure is None  # made when its tab is first shown
    app.outputs.selected_index = 1
    assert compare.figure is not None
    for approach in ("feature_extraction", "scratch"):
        app.approach_panel.approach = approach
        app.start()
        wait_until(lambda: status(app) == "completed", what=f"{approach} completed")
    # The pump redraws the figure, then the table: wait for both, not only the first.
    wait_until(
        lambda: len(compare.figure.data) == 4 and compare.table.value.count("<tr") == 3,
        what="both runs drawn and tabulated",
    )
    names = list(compare.select.value)
    assert "feature extraction" in names[0] and "from scratch" in names[1]
    assert [t.name for t in compare.figure.data] == [n for n in names for _ in range(2)]
    assert compare.table.value.count("<tr") == 3  # header and one row per run
    again = make_app(tiny_factory(), runs_dir=str(tmp_path))
    again.compare_panel.load_button.click()
    wait_until(lambda: "saved run" in again.compare_panel.info.value, what="saved runs")
    assert len(again.compare_panel.select.options) == 2
    assert "2 saved run(s)" in again.compare_panel.info.value
