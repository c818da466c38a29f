"""One home per rule in the panels, and one path for every request the widgets post."""

from __future__ import annotations

from typing import Any

import pytest
from traitlets import TraitError

from lab.core.training.config import ConfigError, RunConfig
from lab.core.training.history import RunHistory
from lab.ui.compare_panel import CompareChanged, ComparePanel
from lab.ui.messages import NewRun, Notice, ShowEpoch
from lab.ui.pump import EventPump, Sends
from lab.ui.results_panel import ResultsPanel
from lab.ui.routes import Routes, live_display
from lab.ui.train_panel import TrainPanel
from lab.ui.use_panel import UsePanel


def _config_error(**change: Any) -> str:
    with pytest.raises(ConfigError) as info:
        RunConfig(**change)
    return str(info.value)


@pytest.mark.parametrize(
    ("trait", "value", "setting"),
    [
        ("optimizer", "lion", "optimizer"),
        ("schedule", "sometimes", "schedule"),
        ("epochs", 0, "epochs"),
        ("batch_size", 0, "batch_size"),
        ("lr", 0.0, "lr"),
    ],
)
def test_a_panel_refuses_a_setting_in_the_words_of_the_run(trait, value, setting):
    panel = TrainPanel()
    with pytest.raises(TraitError) as info:
        setattr(panel, trait, value)
    assert str(info.value) == _config_error(**{setting: value})


def test_an_approach_the_run_does_not_know_is_refused_with_the_run_s_choices():
    from lab.ui.approach_panel import ApproachPanel

    panel = ApproachPanel()
    with pytest.raises(TraitError) as info:
        panel.approach = "transfer"
    assert str(info.value) == _config_error(approach="transfer")
    with pytest.raises(TraitError, match="head_lr=-1.0"):
        panel.head_lr = -1.0


def test_a_request_has_one_route_and_an_unrouted_one_is_dropped():
    drawn: list[Any] = []
    routes = Routes({Notice: lambda item, sends: drawn.append(item)})
    with pytest.raises(ValueError, match="Notice: already routed"):
        routes.add({Notice: lambda item, sends: None})
    assert routes.apply([Notice("a"), CompareChanged(), Notice("b")]) == 0
    assert [n.text for n in drawn] == ["a", "b"]


def test_the_display_routes_requests_and_folds_runs_in_one_batch(comm_log):
    train, results, compare = TrainPanel(), ResultsPanel(), ComparePanel(runs_dir=None)
    display = live_display(train, results, compare, UsePanel())
    pump = EventPump(display.apply)
    history = RunHistory(name="r")
    pump.put(Notice("before the run", "warning"))
    pump.put(ShowEpoch(1))  # no run shown yet: nothing to draw
    pump.put(NewRun(history))  # a new run clears the notices
    pump.put(Notice("about the new run", "info"))
    assert pump.drain() > 0
    assert display.view.history is history
    assert "about the new run" in train.message.value
    assert train.status.value == "running"  # preparing the run
    display.failed(RuntimeError("broken"))
    assert "could not update" in train.message.value


def test_a_routed_notice_counts_each_message_it_sends():
    sends = Sends()
    train = TrainPanel()
    Routes(train.requests()).handle(Notice("x", "error"), sends)
    assert sends.count == 2 and "x" in train.error.value
