"""The live view: it folds run events into the displayed run's history and draws them.

The trainer keeps its own history on its thread; this one is folded on the pump
thread from the same events, so the widgets never read state another thread writes.
Requests from the widgets (show an epoch, compare runs, notices) are not the view's:
:mod:`lab.ui.routes` takes them to the panel that draws them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

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
from lab.ui.compare_panel import ComparePanel
from lab.ui.messages import NewRun, RunEvent, ValidationImages
from lab.ui.pump import Sends
from lab.ui.results_panel import ResultsPanel
from lab.ui.test_panel import TestPanel
from lab.ui.train_panel import TrainPanel

log = logging.getLogger(__name__)

FINAL = (RunCompleted, RunStopped, RunFailed)


class LiveView:
    """Folds :class:`NewRun` and :class:`RunEvent` items, then draws once per batch.

    :meth:`fold` takes each item of a batch in order; :meth:`render` draws what they
    changed. Only :class:`lab.ui.routes.Display` calls them, on the pump's thread.
    """

    def __init__(
        self, train: TrainPanel, results: ResultsPanel, compare: ComparePanel, test: TestPanel
    ) -> None:
        self.train, self.results, self.compare, self.test = train, results, compare, test
        self.history: RunHistory | None = None
        self.preparing = False
        self._images: Callable[[], ValidationImages | None] | None = None
        self._new_steps = self._new_evals = self._status = False

    def fold(self, item: NewRun | RunEvent, sends: Sends) -> None:
        """Apply one run item: a run being prepared, or an event of some run."""
        if isinstance(item, NewRun):
            self._new_run(item, sends)
            self._status = True
            return
        payload = self._on_event(item, sends)
        self._new_steps |= isinstance(payload, StepCompleted)
        self._new_evals |= isinstance(payload, EvaluationCompleted)
        self._status |= payload is not None

    def render(self, sends: Sends) -> None:
        """Redraw what the items folded since the last call changed, once."""
        new_steps, new_evals, status = self._new_steps, self._new_evals, self._status
        self._new_steps = self._new_evals = self._status = False
        if self.history is None:
            return
        if new_steps or new_evals:
            self.results.render(self.history, new_steps, new_evals, sends)
        if status or new_steps:
            self.train.render(self.history, sends, self.preparing)

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
        elif isinstance(payload, FINAL):
            self.preparing = False
            # Notices such as "a run is already running" end with the run; errors stay.
            self.train.clear_notices(sends, errors=False)
            if self.history.started is None:
                self.results.failed_to_start(sends)
            self.test.show_final(self.history, sends)
            self.compare.add_run(self.history, sends)

    def _load_images(self) -> ValidationImages | None:
        if self._images is None:
            return None
        try:
            return self._images()
        except Exception:  # noqa: BLE001 - the gallery is optional; the curves are not
            log.exception("could not find the validation images for the gallery")
            return None
