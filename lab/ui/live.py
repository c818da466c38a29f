"""The view the pump applies batches to: it owns the displayed run's history.

The trainer keeps its own history on its thread; this one is folded on the pump
thread from the same events, so the widgets never read state another thread writes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets
from traitlets import HasTraits

from lab.core.events import (
    EvaluationCompleted,
    Payload,
    RunCompleted,
    RunFailed,
    RunStarted,
    RunStopped,
    StepCompleted,
)
from lab.core.history import RunHistory
from lab.ui.compare_panel import CheckpointChosen, ComparePanel
from lab.ui.messages import (
    LRFinderDone,
    LRFinderFailed,
    LRFinderStarted,
    NewRun,
    Notice,
    RunEvent,
    SettingsChanged,
    ShowCell,
    ShowEpoch,
    ShowMisclassified,
    ValidationImages,
)
from lab.ui.pump import Sends
from lab.ui.results_panel import ResultsPanel
from lab.ui.test_panel import TestPanel
from lab.ui.train_panel import TrainPanel

log = logging.getLogger(__name__)

FINAL = (RunCompleted, RunStopped, RunFailed)


class LiveView:
    """Applies queued events and user requests to the panels; returns messages sent."""

    def __init__(
        self,
        train: TrainPanel,
        results: ResultsPanel,
        compare: ComparePanel,
        test: TestPanel,
        lr_owner: HasTraits | None = None,
        lr_sliders: Sequence[widgets.Widget] = (),
        on_new_model: Callable[[], Any] | None = None,
    ) -> None:
        """``lr_owner.lr`` is the one learning rate (default: the train panel's), shown by
        the train panel's slider and ``lr_sliders``; the LR finder's suggestion goes there.
        ``on_new_model`` is called once a run has trained its first step.
        """
        self.train, self.results, self.compare, self.test = train, results, compare, test
        self.lr_owner: HasTraits = lr_owner or train
        self.lr_sliders = (train.lr_input, *lr_sliders)
        self.on_new_model = on_new_model
        self.history: RunHistory | None = None
        self.preparing = False
        self._images: Callable[[], ValidationImages | None] | None = None

    def apply(self, items: list[Any]) -> int:
        """Fold ``items`` in order, then redraw what changed once."""
        sends = Sends()
        new_steps = new_evals = status = False
        for item in items:
            if isinstance(item, Payload):  # a trainer subscribed the pump itself
                item = RunEvent(self._current(sends), item)
            if isinstance(item, RunEvent):
                payload = self._on_event(item, sends)
                new_steps |= isinstance(payload, StepCompleted)
                new_evals |= isinstance(payload, EvaluationCompleted)
                status |= payload is not None
            elif isinstance(item, NewRun):
                self._new_run(item, sends)
                status = True
            else:
                self._on_request(item, sends)
        if self.history is not None:
            if new_steps or new_evals:
                self.results.render(self.history, new_steps, new_evals, sends)
            if status or new_steps:
                self.train.render(self.history, sends, self.preparing)
        return sends.count

    def failed(self, error: BaseException) -> None:
        """The pump's error handler: say so in the panel instead of only in a log."""
        text = f"The display could not update ({type(error).__name__}: {error}); training goes on."
        self.train.show_notice(text, "warning", Sends())

    def _current(self, sends: Sends) -> RunHistory:
        if self.history is None:
            self._new_run(NewRun(RunHistory()), sends)
        assert self.history is not None
        return self.history

    def _on_event(self, item: RunEvent, sends: Sends) -> Payload | None:
        """Fold a trainer event; returns it if it belongs to the run on display."""
        item.history.apply(item.payload)
        if item.history is self.history:
            self._on_payload(item.payload, sends)
            return item.payload
        # The last words of a run that ended as the next one started: keep its history
        # complete for comparison, but draw nothing of it.
        if isinstance(item.payload, FINAL):
            self.compare.add_run(item.history, sends)
        return None

    def _new_run(self, item: NewRun, sends: Sends) -> None:
        if self.history is not None and self.history is not item.history:
            self.history.drop_item_data()  # only compared from now on, no longer drawn
        self.history, self.preparing, self._images = item.history, True, item.images
        self.results.images = None
        self.train.clear_notices(sends)
        self.results.clear(item.history, sends)
        self.test.reset(sends)

    def _on_payload(self, payload: Payload, sends: Sends) -> None:
        assert self.history is not None
        if isinstance(payload, RunStarted):
            self.preparing = False
            self.results.reset(self.history, sends)
            self.results.images = self._load_images()
        elif isinstance(payload, StepCompleted) and len(self.history.steps) == 1:
            self.test.model_changed(sends)  # from now on the test panel uses this run
            if self.on_new_model is not None:
                self.on_new_model()
        elif isinstance(payload, FINAL):
            self.preparing = False
            # Notices such as "a run is already running" end with the run; errors stay.
            self.train.clear_notices(sends, errors=False)
            if self.history.started is None:
                self.results.failed_to_start(sends)
            self.test.show_final(self.history, sends)
            self.compare.add_run(self.history, sends)

    def _set_lr(self, value: float, sends: Sends) -> None:
        # Links carry the one LR to every slider showing it: hold them all so each sends
        # one counted message.
        with sends.hold(*self.lr_sliders):
            self.lr_owner.lr = value  # type: ignore[attr-defined]

    def _load_images(self) -> ValidationImages | None:
        if self._images is None:
            return None
        try:
            return self._images()
        except Exception:  # noqa: BLE001 - the gallery is optional; the curves are not
            log.exception("could not find the validation images for the gallery")
            return None

    def _on_request(self, item: Any, sends: Sends) -> None:
        history = self.history
        if isinstance(item, Notice):
            self.train.show_notice(item.text, item.level, sends)
        elif isinstance(item, SettingsChanged):
            self.train.clear_notices(sends)
        elif isinstance(item, LRFinderStarted):
            self.train.lr_busy(sends)
        elif isinstance(item, LRFinderDone):
            chosen = self.train.show_lr_result(item.lrs, item.losses, item.suggested, sends)
            if chosen is not None:
                self._set_lr(chosen, sends)
        elif isinstance(item, LRFinderFailed):
            self.train.show_lr_result([], [], None, sends)
            self.train.show_notice(item.message, "error", sends)
        elif isinstance(item, ShowEpoch) and history is not None:
            self.results.show_epoch(history, item.epoch, sends)
        elif isinstance(item, ShowCell) and history is not None:
            self.results.show_cell(history, item.true, item.predicted, sends)
        elif isinstance(item, ShowMisclassified) and history is not None:
            self.results.show_misclassified(history, sends)
        elif isinstance(item, CheckpointChosen):
            self.compare.handle(item, sends)
            self.test.checkpoint_chosen(item.text, sends)
        elif self.compare.handles(item):
            self.compare.handle(item, sends)
        else:
            log.debug("ignored %r", item)
