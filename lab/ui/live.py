"""The live view: it folds run events into the displayed run's history and draws them.

The trainer keeps its own history on its thread; this one is folded on the pump
thread from the same events, so the widgets never read state another thread writes.
Requests from the widgets (show an epoch, compare runs, notices) are not the view's:
:mod:`lab.ui.routes` takes them to the panel that draws them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from lab.core.training.events import (
    EvaluationCompleted,
    Payload,
    RunCompleted,
    RunFailed,
    RunStarted,
    RunStopped,
    StepCompleted,
)
from lab.core.training.history import RunHistory
from lab.ui.compare_panel import ComparePanel
from lab.ui.messages import NewRun, RunEvent, ValidationImages
from lab.ui.pump import Sends
from lab.ui.results_panel import ResultsPanel
from lab.ui.train_panel import TrainPanel
from lab.ui.use_panel import UsePanel

log = logging.getLogger(__name__)

FINAL = (RunCompleted, RunStopped, RunFailed)
#: Where the settings that set-up checks name are changed, for a refusal's notice.
SETTING_PLACES = {
    "batch_size": "the batch size is in step 4",
    "n_per_class": "the images per class are in step 2",
    "val_fraction": "the validation share is in step 2",
    "test_fraction": "the test share is in step 2",
    "image_size": "the image size is in step 2",
    "path": "the folder is in step 2",
}


def refusal_text(message: str) -> str:
    """The notice for a start whose set-up refused a setting, saying where to change it."""
    setting = re.match(r"\w+", message)
    place = SETTING_PLACES.get(setting.group(0)) if setting else None
    return f"Could not start: {message}" + (f" ({place})" if place else "")


class LiveView:
    """Folds :class:`NewRun` and :class:`RunEvent` items, then draws once per batch.

    :meth:`fold` takes each item of a batch in order; :meth:`render` draws what they
    changed. Only :class:`lab.ui.routes.Display` calls them, on the pump's thread.
    """

    def __init__(
        self,
        train: TrainPanel,
        results: ResultsPanel,
        compare: ComparePanel,
        test: UsePanel,
        on_new_model: Callable[[], object] | None = None,
    ) -> None:
        """``on_new_model`` is called once a run has trained its first step."""
        self.train, self.results, self.compare, self.test = train, results, compare, test
        self.on_new_model = on_new_model
        self.history: RunHistory | None = None
        self.preparing = False
        self._images: Callable[[], ValidationImages | None] | None = None
        self._new_steps = self._new_evals = self._status = False
        self._refused: Callable[[], bool] | None = None
        self._before: RunHistory | None = None  # shown until the prepared run starts
        self._refusal: str | None = None  # shown once the train panel is drawn

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
        refusal, self._refusal = self._refusal, None
        if self.history is not None and (new_steps or new_evals):
            self.results.render(self.history, new_steps, new_evals, sends)
        if (self.history is not None and (status or new_steps)) or refusal:
            self.train.render(self.history, sends, self.preparing)
        if refusal:
            self.train.show_notice(refusal, "error", sends)

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
        # The results and test panels keep the previous run until this one has started:
        # a set-up that refuses a setting leaves them as they were.
        self._before, self.history, self.preparing = self.history, item.history, True
        self._images, self._refused = item.images, item.refused
        self.train.clear_notices(sends)

    def _on_payload(self, payload: Payload, sends: Sends) -> None:
        assert self.history is not None
        if isinstance(payload, RunStarted):
            self.preparing = False
            if self._before is not None and self._before is not self.history:
                self._before.drop_item_data()  # only compared from now on, no longer drawn
            self._before = None
            self.results.clear(self.history, sends)
            self.results.reset(self.history, sends)
            self.results.images = self._load_images()
            self.test.reset(sends)
        elif isinstance(payload, StepCompleted) and len(self.history.steps) == 1:
            self.test.model_changed(sends)  # from now on the test panel uses this run
            if self.on_new_model is not None:
                self.on_new_model()
        elif isinstance(payload, FINAL):
            self.preparing = False
            # Notices such as "a run is already running" end with the run; errors stay.
            self.train.clear_notices(sends, errors=False)
            if self._refused is not None and self._refused():
                self._refuse(sends)
                return
            if self.history.started is None:
                self.results.failed_to_start(sends)
            self.test.show_final(self.history, sends)
            self.compare.add_run(self.history, sends)

    def _refuse(self, sends: Sends) -> None:
        """Set-up refused a setting: not a run to show or compare; the one before stays."""
        assert self.history is not None
        self._refusal = refusal_text(self.history.error or "a setting was refused")
        self.history, self._before, self._refused = self._before, None, None
        if self.history is None:
            self.results.failed_to_start(sends, "Nothing ran (a setting was refused)")

    def _load_images(self) -> ValidationImages | None:
        if self._images is None:
            return None
        try:
            return self._images()
        except Exception:  # noqa: BLE001 - the gallery is optional; the curves are not
            log.exception("could not find the validation images for the gallery")
            return None
