"""The compare panel: which runs it lists, keeps selected, and what its table says."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from lab.core.runs.saved import payload_to_dict
from lab.core.training.events import (
    EvaluationCompleted,
    Payload,
    RunCompleted,
    RunFailed,
    RunStarted,
)
from lab.core.training.history import RunHistory
from lab.ui.compare_panel import CompareChanged, ComparePanel, SavedRunsLoaded
from lab.ui.pump import EventPump, Sends
from lab.ui.routes import Routes


def _events(run_id: str, data: str = "animal_shapes", failed: bool = False) -> list[Payload]:
    started = RunStarted(
        run_id=run_id, config={"model": "tiny", "approach": "scratch", "data": {"name": data}},
        class_names=("a", "b"), n_train=8, n_val=2, steps_per_epoch=2, total_epochs=1,
        device="cpu", run_dir=None, trainable_params=4, frozen_params=0,
    )  # fmt: skip
    if failed:
        return [started, RunFailed(epoch=1, global_step=0, message="no", error_type="E")]
    evaluation = EvaluationCompleted(
        epoch=1, global_step=2, train_loss=0.5, train_acc=0.5, val_loss=0.4, val_acc=0.5,
        confusion=np.eye(2, dtype=int), precision=np.ones(2), recall=np.ones(2),
        val_predictions=np.array([0, 1]),
    )  # fmt: skip
    return [started, evaluation, RunCompleted(epoch=1, global_step=2, best_val_acc=0.5)]


def _history(name: str, events: list[Payload]) -> RunHistory:
    history = RunHistory(name=name)
    for payload in events:
        history.apply(payload)
    return history


def _save(root: Path, run_id: str, lines: list[str]) -> None:
    (root / run_id).mkdir(parents=True)
    (root / run_id / "metrics.jsonl").write_text("\n".join(lines) + "\n")


def _saved(root: Path, run_id: str, **kwargs: object) -> None:
    events = _events(run_id, **kwargs)  # type: ignore[arg-type]
    _save(root, run_id, [json.dumps(payload_to_dict(p)) for p in events])


def _panel(tmp_path: Path) -> ComparePanel:
    panel = ComparePanel(runs_dir=str(tmp_path))
    pump = EventPump(Routes(panel.requests()).apply)
    panel.post = pump.submit
    return panel


def test_loading_saved_runs_keeps_the_session_runs_selected_and_adds_no_duplicate(tmp_path):
    panel = _panel(tmp_path)
    _saved(tmp_path, "run-a")  # the session's own run, saved as it ran
    _saved(tmp_path, "run-b", data="mnist5k")
    panel.add_run(_history("1 · from scratch · tiny", _events("run-a")), Sends())
    panel.add_run(_history("2 · from scratch · tiny", _events("run-c")), Sends())
    panel.select.value = ("1 · from scratch · tiny",)
    panel.load_button.click()
    assert list(panel.select.options) == [
        "1 · from scratch · tiny",
        "2 · from scratch · tiny",
        "run-b",
    ]
    assert panel.select.value == ("1 · from scratch · tiny",)  # the selection is kept
    assert "2 saved run(s)" in panel.info.value and "1 already listed" in panel.info.value
    panel.select.value = ("1 · from scratch · tiny", "run-b")
    # Runs on different data no longer look alike: the table names the data set.
    assert ">data</th>" in panel.table.value
    assert "animal_shapes" in panel.table.value and "mnist5k" in panel.table.value


def test_a_damaged_run_folder_is_named_and_the_good_runs_still_listed(tmp_path):
    panel = _panel(tmp_path)
    _saved(tmp_path, "good")
    _save(tmp_path, "not-objects", ["[1, 2, 3]"])  # a metrics line that is not an object
    started = payload_to_dict(_events("x")[0])
    del started["n_train"]  # an event missing a field
    _save(tmp_path, "missing-field", [json.dumps(started)])
    panel.load_button.click()
    assert list(panel.select.options) == ["good"]
    assert "not-objects" in panel.info.value and "missing-field" in panel.info.value
    assert "Could not read" in panel.info.value


def test_failed_runs_are_not_listed_among_the_comparable_ones(tmp_path):
    panel = _panel(tmp_path)
    panel.add_run(_history("1 · broken", _events("r1", failed=True)), Sends())
    assert list(panel.select.options) == [] and "failed" in panel.info.value
    _saved(tmp_path, "saved-failed", failed=True)
    panel.load_button.click()
    assert list(panel.select.options) == [] and "1 failed (not compared)" in panel.info.value


def test_the_compare_plot_fills_the_panel_width(tmp_path):
    panel = _panel(tmp_path)
    figure = panel.ensure_figure()
    assert figure.layout.autosize is True and figure.layout.width is None
    assert panel.plot_box.layout.width == "100%"


def test_finished_runs_are_listed_selected_and_tabulated_without_a_request() -> None:
    posted: list[object] = []
    panel = ComparePanel(post=posted.append, runs_dir=None)
    assert "Finish or stop a run" in panel.table.value
    panel.add_run(_history("1 · scratch", _events("r1")), Sends())
    panel.add_run(_history("2 · scratch", _events("r2", data="mnist5k")), Sends())
    assert list(panel.select.options) == ["1 · scratch", "2 · scratch"]
    assert panel.select.value == ("1 · scratch", "2 · scratch")
    assert posted == []  # the pump changed the selection, not the user
    table = panel.table.value
    assert table.count("<tr") == 3  # the header and one row per run
    assert f"{0.5:.1%}" in table and f"{0.4:.3f}" in table  # accuracy as %, loss as number
    assert "mnist5k" in table and "completed" in table


def test_a_user_selection_is_posted_and_redraws_only_the_selected_runs() -> None:
    posted: list[object] = []
    panel = ComparePanel(post=posted.append, runs_dir=None)
    for name, run_id in (("one", "r1"), ("two", "r2")):
        panel.add_run(_history(name, _events(run_id)), Sends())
    panel.select.value = ("two",)
    assert posted == [CompareChanged()]
    routes = panel.requests()
    assert CompareChanged in routes and SavedRunsLoaded in routes and object not in routes
    routes[CompareChanged](posted[0], Sends())
    assert [h.name for h in panel.selected()] == ["two"]
    assert ">two<" in panel.table.value and ">one<" not in panel.table.value


def test_the_figure_overlays_two_curves_per_selected_run() -> None:
    panel = ComparePanel(runs_dir=None)
    figure = panel.ensure_figure()
    assert len(figure.data) == 0
    panel.add_run(_history("one", _events("r1")), Sends())
    panel.add_run(_history("two", _events("r2")), Sends())
    assert len(figure.data) == 4  # validation loss and accuracy of each run
    assert panel.ensure_figure() is figure  # made once


def test_an_interrupted_saved_run_names_how_far_it_got() -> None:
    panel = ComparePanel(runs_dir="runs")
    events = _events("cut")[:2]  # started and one evaluation, then the process died
    history = _history("cut", events)
    history.state = "interrupted"
    panel.show_saved(
        SavedRunsLoaded((history,), damaged=("bad: metrics.jsonl unreadable",)), Sends()
    )
    info = panel.info.value
    assert "1 saved run(s) found in runs." in info
    assert "Interrupted" in info and "cut: reached epoch 1, no checkpoint" in info
    assert "bad: metrics.jsonl unreadable" in info
    assert list(panel.select.options) == ["cut"]
